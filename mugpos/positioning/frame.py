"""The scene as plain floats: what every positioning stage reads, built once per analysis.

Pydantic models are the API's shape; inside the hot path we keep tuples of floats, which are
several times cheaper to create and read than validated models.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from mugpos.detections import Detection
from mugpos.errors import MugposError
from mugpos.labels import CONTEXT_LABELS, MUG, WORK_AREA_LABELS
from mugpos.positioning.geometry import Rect
from mugpos.positioning.targets import Target
from mugpos.positioning.workarea import WorkAreaSource, find_work_area
from mugpos.positioning.zones import Grid
from mugpos.units import ResolvedScale, Scale, from_px, to_px


class SceneError(MugposError):
    """The scene cannot be positioned (no image size, boxes outside any sane range)."""

    code = "invalid_scene"


@dataclass(frozen=True, slots=True)
class ObjectRef:
    label: str
    detection: int  # index into the analysed detections
    rect: Rect


@dataclass(frozen=True, slots=True)
class SceneFrame:
    width: float
    height: float
    work_area: Rect
    work_area_source: WorkAreaSource
    mugs: tuple[Rect, ...]  # sorted left to right, then top to bottom
    mug_detections: tuple[int, ...]
    objects: tuple[ObjectRef, ...]  # context objects (laptop, keyboard, ...)
    by_label: dict[str, tuple[Rect, ...]]  # every non-mug detection, for rules
    scale: ResolvedScale | None
    grid: Grid
    target: Target
    target_points: tuple[tuple[float, float], ...]

    @property
    def mm_per_px(self) -> float | None:
        return None if self.scale is None else self.scale.mm_per_px

    @property
    def wa_width(self) -> float:
        return self.work_area[2] - self.work_area[0]

    @property
    def wa_height(self) -> float:
        return self.work_area[3] - self.work_area[1]

    @property
    def short_side(self) -> float:
        """What 100 % means for distances not along one axis (box gaps, spacing, radii)."""
        return min(self.wa_width, self.wa_height)

    @property
    def diagonal(self) -> float:
        return math.hypot(self.wa_width, self.wa_height)

    def to_px(self, value: float, unit: str, base: float | None = None) -> float | None:
        return to_px(value, unit, mm_per_px=self.mm_per_px, percent_base_px=base or self.short_side)

    def from_px(self, px: float, unit: str, base: float | None = None) -> float | None:
        return from_px(px, unit, mm_per_px=self.mm_per_px, percent_base_px=base or self.short_side)

    def normalised(self, x: float, y: float) -> tuple[float, float]:
        """Work-area-normalised coordinates (0..1 inside the work area)."""
        x1, y1, _, _ = self.work_area
        return ((x - x1) / self.wa_width, (y - y1) / self.wa_height)


def build_frame(
    detections: Sequence[Detection],
    width: float,
    height: float,
    *,
    scale: Scale | None = None,
    grid: Grid | None = None,
    target: Target | None = None,
) -> SceneFrame:
    """Split detections into mugs, context objects and the work area; resolve scale and target."""
    if not (width > 0 and height > 0 and math.isfinite(width) and math.isfinite(height)):
        raise SceneError(
            f"image size must be positive, got {width}x{height}",
            details={"width": width, "height": height},
        )
    for i, d in enumerate(detections):
        if not all(math.isfinite(v) for v in d.box.as_tuple()):
            raise SceneError(f"detection {i} has a non-finite box", details={"detection": i})
    work_area, source = find_work_area(detections, width, height)
    mugs = sorted(
        (i for i, d in enumerate(detections) if d.label == MUG),
        key=lambda i: (detections[i].box.center, detections[i].box.as_tuple()),
    )
    by_label: dict[str, list[Rect]] = {}
    objects: list[ObjectRef] = []
    for i, d in enumerate(detections):
        if d.label == MUG or d.label in WORK_AREA_LABELS:
            continue
        by_label.setdefault(d.label, []).append(d.box.as_tuple())
        if d.label in CONTEXT_LABELS:
            objects.append(ObjectRef(d.label, i, d.box.as_tuple()))
    target = target or Target()
    return SceneFrame(
        width=float(width),
        height=float(height),
        work_area=work_area,
        work_area_source=source,
        mugs=tuple(detections[i].box.as_tuple() for i in mugs),
        mug_detections=tuple(mugs),
        objects=tuple(objects),
        by_label={k: tuple(v) for k, v in by_label.items()},
        scale=scale.resolve(detections) if scale is not None else None,
        grid=grid or Grid(),
        target=target,
        target_points=target.points(width, height, work_area),
    )
