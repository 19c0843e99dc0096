"""Real objects cut out of real photos, to paste into composites at known boxes and sizes.

Each cutout is a box in one registry photo (hand-annotated on zoomed crops) and a way to make
its alpha mask: GrabCut seeded with the box (OpenCV's, for objects on plain backgrounds), a
hand-traced shape (where GrabCut fails, e.g. a white cup on a white saucer), or the box itself
(objects cut by the photo's border). ``size_cm`` is the object's real longer side, so a
composite can give every object in one scene the same scale (px per cm).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

from evaluation.dataset import Xyxy
from evaluation.sources import SourceCache

Shape = tuple[Literal["ellipse", "polygon"], tuple[float, ...]]


@dataclass(frozen=True)
class Cutout:
    id: str
    label: str
    source: str  # a key of evaluation.sources.FILES, or "skimage:<name>"
    box: Xyxy
    mask: Literal["grabcut", "shapes", "box"]
    size_cm: float
    shapes: tuple[Shape, ...] = field(default=())


def _coffee_shapes() -> tuple[Shape, ...]:
    from evaluation.composite import CUP_BODY, CUP_HANDLE, CUP_RIM

    return (
        ("ellipse", tuple(float(v) for v in CUP_RIM)),
        ("polygon", tuple(float(v) for xy in CUP_BODY for v in xy)),
        ("ellipse", tuple(float(v) for v in CUP_HANDLE)),
    )


CUTOUTS: tuple[Cutout, ...] = (
    Cutout(
        "coffee", "mug", "skimage:coffee", (173, 18, 408, 310), "shapes", 11.0, _coffee_shapes()
    ),
    Cutout(
        "teacup-5386834",
        "mug",
        "pexels-5386834",
        (692, 1426, 892, 1558),
        "shapes",
        12.0,
        (
            ("ellipse", (692, 1426, 848, 1478)),
            (
                "polygon",
                (
                    694,
                    1456,
                    848,
                    1456,
                    837,
                    1516,
                    822,
                    1541,
                    797,
                    1556,
                    767,
                    1558,
                    742,
                    1551,
                    717,
                    1531,
                    702,
                    1501,
                ),
            ),
            ("ellipse", (830, 1468, 892, 1528)),
        ),
    ),
    Cutout("brown-cup-7303842", "mug", "pexels-7303842", (687, 2349, 925, 2663), "grabcut", 9.0),
    Cutout(
        "terracotta-cup-7303987", "mug", "pexels-7303987", (361, 1455, 471, 1628), "grabcut", 10.0
    ),
    Cutout(
        "printed-mug-opencv",
        "mug",
        "opencv-mug-screenshot",
        (643, 271, 949, 554),
        "grabcut",
        11.0,
    ),
    Cutout("laptop-5386834", "laptop", "pexels-5386834", (880, 955, 1541, 1590), "grabcut", 33.0),
    Cutout("monitor-left01", "monitor", "opencv-left01", (0, 142, 160, 436), "box", 45.0),
    Cutout("keyboard-left01", "keyboard", "opencv-left01", (33, 361, 228, 480), "grabcut", 44.0),
    Cutout("books-5386834", "book", "pexels-5386834", (1361, 1459, 1876, 1668), "grabcut", 24.0),
    Cutout("book-opencv", "book", "opencv-books", (86, 133, 272, 380), "grabcut", 24.0),
    Cutout("books-6956495", "book", "pexels-6956495", (416, 2368, 822, 2591), "grabcut", 24.0),
    Cutout("wine-bottle", "bottle", "lomiri-wine", (1183, 458, 1348, 1275), "grabcut", 30.0),
)


def cutouts(label: str | None = None) -> list[Cutout]:
    return [c for c in CUTOUTS if label is None or c.label == label]


def load_source(source: str, cache: SourceCache) -> np.ndarray:
    if source.startswith("skimage:"):
        import skimage.data

        return np.ascontiguousarray(getattr(skimage.data, source.split(":", 1)[1])()[..., :3])
    return cache.pixels(source)


@lru_cache(maxsize=64)
def _cut(c: Cutout, cache: SourceCache) -> tuple[np.ndarray, np.ndarray]:
    photo = load_source(c.source, cache)
    x1, y1, x2, y2 = (round(v) for v in c.box)
    h, w = photo.shape[:2]
    if not (0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h):
        raise ValueError(f"cutout {c.id}: box {c.box} outside the {w}x{h} photo")
    if c.mask == "shapes":
        alpha = _shapes_mask(c.shapes, w, h)
    elif c.mask == "grabcut":
        alpha = _grabcut_mask(photo, (x1, y1, x2, y2))
    else:
        alpha = np.zeros((h, w), np.float32)
        alpha[y1:y2, x1:x2] = 1.0
    ys, xs = np.nonzero(alpha[y1:y2, x1:x2] > 0.5)
    if ys.size < 16:
        raise ValueError(f"cutout {c.id}: its mask is empty")
    by1, by2, bx1, bx2 = y1 + ys.min(), y1 + ys.max() + 1, x1 + xs.min(), x1 + xs.max() + 1
    return (
        np.ascontiguousarray(photo[by1:by2, bx1:bx2]),
        np.ascontiguousarray(alpha[by1:by2, bx1:bx2]),
    )


def cutout_pixels(c: Cutout, cache: SourceCache) -> tuple[np.ndarray, np.ndarray]:
    """RGB (uint8) and alpha (float 0..1) of the cutout, cropped to its mask's extent."""
    return _cut(c, cache)


def _shapes_mask(shapes: tuple[Shape, ...], w: int, h: int) -> np.ndarray:
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    for kind, pts in shapes:
        if kind == "ellipse":
            draw.ellipse(pts, fill=255)
        else:
            draw.polygon(list(zip(pts[::2], pts[1::2], strict=True)), fill=255)
    return np.asarray(mask, np.float32) / 255.0


def _grabcut_mask(photo: np.ndarray, box: tuple[int, int, int, int], pad: int = 12) -> np.ndarray:
    """OpenCV GrabCut seeded with the box (a fixed iteration count: deterministic)."""
    import cv2

    x1, y1, x2, y2 = box
    h, w = photo.shape[:2]
    cx1, cy1, cx2, cy2 = max(0, x1 - pad), max(0, y1 - pad), min(w, x2 + pad), min(h, y2 + pad)
    crop = np.ascontiguousarray(photo[cy1:cy2, cx1:cx2, ::-1])  # BGR for OpenCV
    rx, ry = max(x1 - cx1, 1), max(y1 - cy1, 1)
    rect = (rx, ry, min(x2 - x1, crop.shape[1] - rx - 1), min(y2 - y1, crop.shape[0] - ry - 1))
    mask = np.zeros(crop.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    cv2.grabCut(crop, mask, rect, bgd, fgd, 6, cv2.GC_INIT_WITH_RECT)
    fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    out = np.zeros((h, w), np.float32)
    out[cy1:cy2, cx1:cx2] = fg
    return out
