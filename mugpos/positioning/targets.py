"""Targets: the point(s) a mug's offset is measured from (image center, thirds, a user box)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from mugpos.detections import Box
from mugpos.positioning.geometry import Rect

TargetKind = Literal["image_center", "work_area_center", "thirds", "box"]


class Target(BaseModel):
    """Where mugs should go. ``thirds`` means the nearest of the work area's four thirds points."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: TargetKind = "image_center"
    box: Box | None = None

    @model_validator(mode="after")
    def _box_iff_kind_box(self) -> Target:
        if (self.kind == "box") != (self.box is not None):
            raise ValueError("a box is given exactly when kind is 'box'")
        return self

    def points(
        self, width: float, height: float, work_area: Rect
    ) -> tuple[tuple[float, float], ...]:
        """Candidate target points in pixels (four for thirds, else one)."""
        return target_points(self.kind, width, height, work_area, self.box)


def target_points(
    kind: str, width: float, height: float, work_area: Rect, box: Box | None = None
) -> tuple[tuple[float, float], ...]:
    x1, y1, x2, y2 = work_area
    if kind == "image_center":
        return ((width / 2.0, height / 2.0),)
    if kind == "work_area_center":
        return (((x1 + x2) / 2.0, (y1 + y2) / 2.0),)
    if kind == "thirds":
        w, h = x2 - x1, y2 - y1
        return tuple((x1 + fx * w, y1 + fy * h) for fy in (1 / 3, 2 / 3) for fx in (1 / 3, 2 / 3))
    if kind == "box" and box is not None:
        return (box.center,)
    raise ValueError(f"unknown target kind {kind!r}")
