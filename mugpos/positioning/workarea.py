"""The work area: where mugs may stand. The detected table/desk region, else the whole image."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from mugpos.detections import Detection
from mugpos.labels import WORK_AREA_LABELS
from mugpos.positioning.geometry import Rect

WorkAreaSource = Literal["table", "image"]

# A "table" box smaller than this share of the image is more likely a false positive than the
# surface the mugs stand on; using it would squeeze every suggestion into a sliver.
MIN_AREA_FRACTION = 0.02


def find_work_area(
    detections: Sequence[Detection], width: float, height: float
) -> tuple[Rect, WorkAreaSource]:
    """Union of the table/desk boxes clipped to the image, or the image when there is none.

    Several table boxes (a desk and a table, or one surface split in two) are merged, because
    the mugs may stand on any of them.
    """
    boxes = [d.box for d in detections if d.label in WORK_AREA_LABELS]
    if boxes:
        x1 = max(0.0, min(b.x1 for b in boxes))
        y1 = max(0.0, min(b.y1 for b in boxes))
        x2 = min(float(width), max(b.x2 for b in boxes))
        y2 = min(float(height), max(b.y2 for b in boxes))
        if x2 > x1 and y2 > y1 and (x2 - x1) * (y2 - y1) >= MIN_AREA_FRACTION * width * height:
            return (x1, y1, x2, y2), "table"
    return (0.0, 0.0, float(width), float(height)), "image"
