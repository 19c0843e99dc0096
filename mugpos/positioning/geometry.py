"""Plain-float and numpy geometry on ``(x1, y1, x2, y2)`` rectangles: the hot path's vocabulary.

Every rule reduces to "the mug's center is inside / outside a rounded rectangle" (a core
rectangle grown by a radius). Box-to-box distance is the same thing: the gap between two boxes
equals the signed distance from one box's center to the other box grown by half its size.
So one signed-distance function serves the rule checks, the measurements and the search.
"""

from __future__ import annotations

import math

import numpy as np

Rect = tuple[float, float, float, float]

# Stand-in for "unbounded" in cores (a row strip spans all x); finite keeps arithmetic safe.
BIG = 1e9


def center(r: Rect) -> tuple[float, float]:
    return ((r[0] + r[2]) / 2.0, (r[1] + r[3]) / 2.0)


def expand(r: Rect, dx: float, dy: float) -> Rect:
    return (r[0] - dx, r[1] - dy, r[2] + dx, r[3] + dy)


def translate(r: Rect, dx: float, dy: float) -> Rect:
    return (r[0] + dx, r[1] + dy, r[2] + dx, r[3] + dy)


def rect_sd(px: float, py: float, r: Rect) -> float:
    """Signed distance from a point to a rectangle: positive outside, negative inside."""
    dx = max(r[0] - px, px - r[2])
    dy = max(r[1] - py, py - r[3])
    if dx > 0.0 or dy > 0.0:
        return math.hypot(max(dx, 0.0), max(dy, 0.0))
    return max(dx, dy)


def box_gap(a: Rect, b: Rect) -> float:
    """Distance between two boxes; negative when they overlap (minus the smaller push-out)."""
    cx, cy = center(a)
    return rect_sd(cx, cy, expand(b, (a[2] - a[0]) / 2.0, (a[3] - a[1]) / 2.0))


def pairwise_gaps(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """:func:`box_gap` of every box in ``a`` (N, 4) to every box in ``b`` (M, 4): ``(N, M)``."""
    b = a if b is None else b
    dx = np.maximum(b[None, :, 0] - a[:, None, 2], a[:, None, 0] - b[None, :, 2])
    dy = np.maximum(b[None, :, 1] - a[:, None, 3], a[:, None, 1] - b[None, :, 3])
    outside = np.hypot(np.maximum(dx, 0.0), np.maximum(dy, 0.0))
    return np.where((dx > 0.0) | (dy > 0.0), outside, np.maximum(dx, dy))


def overlap_fraction(a: Rect, b: Rect) -> float:
    """Share of ``a``'s area that ``b`` covers (0..1)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1])
    return ix * iy / area if area > 0 else 0.0


def sd_matrix(points: np.ndarray, cores: np.ndarray) -> np.ndarray:
    """Signed distances of ``N`` points to ``K`` rectangles, shape ``(N, K)``.

    Written with in-place operations (and ``sqrt`` rather than ``hypot``, which is several
    times slower in numpy): this is the innermost loop of the move search.
    """
    px = points[:, 0:1]
    py = points[:, 1:2]
    dx = cores[:, 0] - px
    np.maximum(dx, px - cores[:, 2], out=dx)
    dy = cores[:, 1] - py
    np.maximum(dy, py - cores[:, 3], out=dy)
    inner = np.maximum(dx, dy)
    np.minimum(inner, 0.0, out=inner)
    np.maximum(dx, 0.0, out=dx)
    np.maximum(dy, 0.0, out=dy)
    dx *= dx
    dy *= dy
    dx += dy
    np.sqrt(dx, out=dx)
    dx += inner
    return dx
