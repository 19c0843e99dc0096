"""Describe every mug in a scene: position, zone, clearances, alignment and offset from a target."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mugpos.detections import Box, Detection
from mugpos.positioning.alignment import DEFAULT_TOLERANCE_PCT, alignment_groups
from mugpos.positioning.frame import SceneFrame, build_frame
from mugpos.positioning.geometry import Rect, center, overlap_fraction, pairwise_gaps
from mugpos.positioning.measure import distance, vector
from mugpos.positioning.models import (
    EdgeDistances,
    MugPosition,
    MugRelation,
    ObjectRelation,
    Point,
    SceneLayout,
    WorkArea,
)
from mugpos.positioning.targets import Target
from mugpos.positioning.zones import Grid
from mugpos.units import Scale

MAX_MUG_RELATIONS = 10  # other mugs reported per mug (the nearest, beyond this many)


def position_scene(
    detections: Sequence[Detection],
    image_size: tuple[float, float],
    *,
    scale: Scale | None = None,
    grid: Grid | None = None,
    target: Target | None = None,
    alignment_tolerance_pct: float = DEFAULT_TOLERANCE_PCT,
) -> SceneLayout:
    """Positions of every mug in ``detections``; ``image_size`` is ``(width, height)``."""
    frame = build_frame(
        detections, image_size[0], image_size[1], scale=scale, grid=grid, target=target
    )
    return describe(frame, detections, alignment_tolerance_pct=alignment_tolerance_pct)


def describe(
    frame: SceneFrame,
    detections: Sequence[Detection],
    *,
    alignment_tolerance_pct: float = DEFAULT_TOLERANCE_PCT,
) -> SceneLayout:
    boxes = np.asarray(frame.mugs, dtype=np.float64).reshape(-1, 4)
    rects = np.asarray([o.rect for o in frame.objects], dtype=np.float64).reshape(-1, 4)
    mug_gaps = pairwise_gaps(boxes)
    object_gaps = pairwise_gaps(boxes, rects)
    mugs = [_mug(frame, detections, i, mug_gaps[i], object_gaps[i]) for i in range(len(frame.mugs))]
    wa = frame.work_area
    return SceneLayout(
        image_width=frame.width,
        image_height=frame.height,
        work_area=WorkArea(box=Box.from_xyxy(wa), source=frame.work_area_source),
        grid=frame.grid,
        scale=frame.scale,
        target=frame.target,
        target_points=[Point(x=x, y=y) for x, y in frame.target_points],
        mugs=mugs,
        groups=alignment_groups(frame, alignment_tolerance_pct),
    )


def _edges(frame: SceneFrame, b: Rect) -> EdgeDistances:
    wx1, wy1, wx2, wy2 = frame.work_area
    gaps = {"left": b[0] - wx1, "right": wx2 - b[2], "top": b[1] - wy1, "bottom": wy2 - b[3]}
    w, h = frame.wa_width, frame.wa_height
    d = {k: distance(frame, v, w if k in ("left", "right") else h) for k, v in gaps.items()}
    return EdgeDistances(**d, nearest=min(gaps, key=lambda k: gaps[k]))


def _nearest_others(row: np.ndarray, m: int) -> list[int]:
    """The other mugs a position reports, in index order: all of them up to
    ``MAX_MUG_RELATIONS``, else the nearest ones (a 500-mug scene must not answer 250 000
    pairs)."""
    others = [j for j in range(row.shape[0]) if j != m]
    if len(others) <= MAX_MUG_RELATIONS:
        return others
    order = np.argsort(np.where(np.arange(row.shape[0]) == m, np.inf, row), kind="stable")
    return sorted(int(j) for j in order[:MAX_MUG_RELATIONS])


def _mug(
    frame: SceneFrame,
    detections: Sequence[Detection],
    m: int,
    mug_gaps: np.ndarray,
    object_gaps: np.ndarray,
) -> MugPosition:
    b = frame.mugs[m]
    cx, cy = center(b)
    u, v = frame.normalised(cx, cy)
    cell = frame.grid.cell_of(u, v)
    mm = frame.mm_per_px
    wx1, wy1 = frame.work_area[0], frame.work_area[1]
    objects = []
    for k, o in enumerate(frame.objects):
        gap = float(object_gaps[k])
        objects.append(
            ObjectRelation(
                label=o.label,
                detection=o.detection,
                distance=distance(frame, max(gap, 0.0)),
                on=gap < 0.0,
                overlap=min(1.0, overlap_fraction(b, o.rect)),
            )
        )
    others = []
    for j in _nearest_others(mug_gaps, m):
        gap = float(mug_gaps[j])
        others.append(
            MugRelation(mug=j, distance=distance(frame, max(gap, 0.0)), overlapping=gap < 0)
        )
    tx, ty = min(frame.target_points, key=lambda t: (math.hypot(cx - t[0], cy - t[1]), t))
    det = detections[frame.mug_detections[m]]
    return MugPosition(
        index=m,
        detection=frame.mug_detections[m],
        confidence=det.score,
        box=det.box,
        center=Point(x=cx, y=cy),
        center_image=Point(x=cx / frame.width, y=cy / frame.height),
        center_work_area=Point(x=u, y=v),
        center_mm=None if mm is None else Point(x=(cx - wx1) * mm, y=(cy - wy1) * mm),
        width_mm=None if mm is None else (b[2] - b[0]) * mm,
        height_mm=None if mm is None else (b[3] - b[1]) * mm,
        zone=None if cell is None else cell[0],
        zone_cell=None if cell is None else (cell[1], cell[2]),
        in_work_area=cell is not None,
        edges=_edges(frame, b),
        objects=objects,
        mugs=others,
        target_offset=vector(frame, cx - tx, cy - ty),
    )
