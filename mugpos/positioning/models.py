"""API-facing result models of positioning: where each mug is, and how to move it.

Lengths come in three forms: pixels (always), percent of the work area (always; per axis for x
and y components, of the short side for distances) and millimetres (when a scale is known).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mugpos.detections import Box
from mugpos.positioning.targets import Target
from mugpos.positioning.workarea import WorkAreaSource
from mugpos.positioning.zones import Grid
from mugpos.units import ResolvedScale

_FROZEN = ConfigDict(frozen=True)


class Point(BaseModel):
    model_config = _FROZEN
    x: float
    y: float


class Distance(BaseModel):
    """One length: px, % of the work area (axis or short side, see the field) and mm."""

    model_config = _FROZEN
    px: float
    pct: float
    mm: float | None = None


class Vector(BaseModel):
    """A move or offset; ``dx_pct``/``dy_pct`` are % of the work area's width/height."""

    model_config = _FROZEN
    dx_px: float
    dy_px: float
    dx_pct: float
    dy_pct: float
    dx_mm: float | None = None
    dy_mm: float | None = None
    length_px: float
    length_mm: float | None = None


class EdgeDistances(BaseModel):
    """Gaps from the mug's box to each work-area edge (negative: past the edge)."""

    model_config = _FROZEN
    left: Distance
    right: Distance
    top: Distance
    bottom: Distance
    nearest: Literal["left", "right", "top", "bottom"]


class ObjectRelation(BaseModel):
    """Box-to-box distance from a mug to one context object; ``on`` when they overlap."""

    model_config = _FROZEN
    label: str
    detection: int = Field(description="Index into the analysed detections.")
    distance: Distance
    on: bool
    overlap: float = Field(ge=0.0, le=1.0, description="Share of the mug's box it covers.")


class MugRelation(BaseModel):
    model_config = _FROZEN
    mug: int
    distance: Distance
    overlapping: bool


class MugPosition(BaseModel):
    """Everything measured about one mug (before any move)."""

    model_config = _FROZEN
    index: int
    detection: int = Field(description="Index into the analysed detections.")
    confidence: float
    box: Box
    center: Point = Field(description="Pixels, origin top-left.")
    center_image: Point = Field(description="Normalised to the image (0..1).")
    center_work_area: Point = Field(description="Normalised to the work area (0..1 inside).")
    center_mm: Point | None = Field(default=None, description="From the work area's top-left.")
    width_mm: float | None = None
    height_mm: float | None = None
    zone: str | None = Field(description="Grid cell of the center; None outside the work area.")
    zone_cell: tuple[int, int] | None = None
    in_work_area: bool
    edges: EdgeDistances
    objects: list[ObjectRelation]
    mugs: list[MugRelation]
    target_offset: Vector = Field(description="Center minus the nearest target point.")


class AlignmentGroup(BaseModel):
    """Mugs that line up within the tolerance: a row (same y), column (same x) or cluster."""

    model_config = _FROZEN
    kind: Literal["row", "column", "cluster"]
    mugs: list[int]
    spread: Distance


class WorkArea(BaseModel):
    model_config = _FROZEN
    box: Box
    source: WorkAreaSource


class SceneLayout(BaseModel):
    model_config = _FROZEN
    image_width: float
    image_height: float
    work_area: WorkArea
    grid: Grid
    scale: ResolvedScale | None
    target: Target
    target_points: list[Point]
    mugs: list[MugPosition]
    groups: list[AlignmentGroup]


class Suggestion(BaseModel):
    """The smallest move of one mug that satisfies every enabled rule, or the least-bad one."""

    model_config = _FROZEN
    mug: int
    needed: bool = Field(description="False when the mug already satisfies every rule.")
    feasible: bool = Field(description="False when no reachable position satisfies every rule.")
    move: Vector
    box: Box = Field(description="The mug's box after the move.")
    fixes: list[str] = Field(description="Ids of rules violated now and satisfied after the move.")
    unmet: list[str] = Field(description="Ids of rules still violated after the move.")
    message: str


class Scores(BaseModel):
    """0..100 per mug and for the scene (formula in docs/positioning.md)."""

    model_config = _FROZEN
    mugs: list[float]
    scene: float | None = Field(description="None when no mug was found: nothing was scored.")
    reason: str | None = Field(
        default=None, description="Why there is no scene score ('no mug found: not scored')."
    )
