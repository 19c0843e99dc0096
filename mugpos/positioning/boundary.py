"""Boundaries of rounded rectangles as pieces: axis-parallel segments and quarter-circle arcs.

The move search needs the points of a feasible region nearest to the mug: they lie on these
pieces, so we project onto them and intersect them. Working with pieces rather than whole lines
and circles keeps the candidate count small: a piece far from the mug is dropped entirely.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mugpos.positioning.geometry import BIG

_LIM = BIG / 2


@dataclass(frozen=True, slots=True)
class Pieces:
    v: np.ndarray  # (Nv, 3) vertical segments: x, y_low, y_high
    h: np.ndarray  # (Nh, 3) horizontal segments: y, x_low, x_high
    a: np.ndarray  # (Na, 5) arcs: cx, cy, r, sx, sy (the quadrant sx*(x-cx) >= 0, sy*(y-cy) >= 0)

    def select(self, v: np.ndarray, h: np.ndarray, a: np.ndarray) -> Pieces:
        return Pieces(self.v[v], self.h[h], self.a[a])

    @staticmethod
    def stack(parts: list[Pieces]) -> Pieces:
        return Pieces(
            v=np.concatenate([p.v for p in parts]),
            h=np.concatenate([p.h for p in parts]),
            a=np.concatenate([p.a for p in parts]),
        )


def pieces_of(cores: np.ndarray, radius: np.ndarray) -> Pieces:
    """The boundary pieces of rounded rectangles ``(cores, radius)``, deduplicated and sorted
    (so results never depend on input order). A negative radius means the core shrunk by it,
    with sharp corners (an inset rectangle)."""
    cores = np.asarray(cores, dtype=np.float64).reshape(-1, 4)
    r = np.asarray(radius, dtype=np.float64).reshape(-1)
    shrink = np.minimum(r, 0.0)[:, None]
    c = cores + shrink * np.array([-1.0, -1.0, 1.0, 1.0])  # shrunk by -r where r < 0
    r = np.maximum(r, 0.0)
    x1, y1, x2, y2 = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
    v = np.concatenate([np.stack([x1 - r, y1, y2], axis=1), np.stack([x2 + r, y1, y2], axis=1)])
    h = np.concatenate([np.stack([y1 - r, x1, x2], axis=1), np.stack([y2 + r, x1, x2], axis=1)])
    v = v[np.abs(v[:, 0]) < _LIM]
    h = h[np.abs(h[:, 0]) < _LIM]
    parts = []
    round_ = r > 0
    for cx, sx in ((x1, -1.0), (x2, 1.0)):
        for cy, sy in ((y1, -1.0), (y2, 1.0)):
            keep = round_ & (np.abs(cx) < _LIM) & (np.abs(cy) < _LIM)
            n = int(keep.sum())
            parts.append(
                np.stack([cx[keep], cy[keep], r[keep], np.full(n, sx), np.full(n, sy)], axis=1)
            )
    a = np.concatenate(parts) if parts else np.zeros((0, 5))
    return Pieces(v=_unique(v, 3), h=_unique(h, 3), a=_unique(a, 5))


def _unique(rows: np.ndarray, width: int) -> np.ndarray:
    if rows.shape[0] <= 1:
        return rows.reshape(-1, width)
    return np.unique(rows, axis=0)


_X = np.array([1.0, 0.0])
_Y = np.array([0.0, 1.0])


@lru_cache(maxsize=64)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, k=1)  # type: ignore[return-value]


def projections(
    pv0: np.ndarray, ph0: np.ndarray, pa0: np.ndarray, pc: Pieces
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nearest point on each vertical segment, horizontal segment and arc to its own start
    point (``pv0``/``ph0``/``pa0``: one row per piece, so several mugs can be done at once)."""
    pv = np.empty((pc.v.shape[0], 2))
    pv[:, 0] = pc.v[:, 0]
    pv[:, 1] = np.clip(pv0[:, 1], pc.v[:, 1], pc.v[:, 2])
    ph = np.empty((pc.h.shape[0], 2))
    ph[:, 0] = np.clip(ph0[:, 0], pc.h[:, 1], pc.h[:, 2])
    ph[:, 1] = pc.h[:, 0]
    c, r, s = pc.a[:, 0:2], pc.a[:, 2:3], pc.a[:, 3:5]
    d = pa0 - c
    n = np.sqrt((d * d).sum(axis=1, keepdims=True))
    # On the circle when the start faces the arc's quadrant, else the nearer end of the arc.
    on_circle = c + r * np.where(n > 0, d / np.maximum(n, 1e-300), s * _X)
    end_x = c + r * s * _X
    end_y = c + r * s * _Y
    x_nearer = ((end_x - pa0) ** 2).sum(axis=1, keepdims=True) <= ((end_y - pa0) ** 2).sum(
        axis=1, keepdims=True
    )
    pa = np.where(
        ((d * s) >= 0).all(axis=1, keepdims=True), on_circle, np.where(x_nearer, end_x, end_y)
    )
    return pv, ph, pa


def _line_arc(
    seg: np.ndarray,
    seg_mug: np.ndarray,
    arcs: np.ndarray,
    arc_mug: np.ndarray,
    vertical: bool,
    tol: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Where segments on lines ``x = c`` (or ``y = c``) cross arcs of the same mug."""
    i, j = (0, 1) if vertical else (1, 0)
    along, across, r = arcs[:, i], arcs[:, j], arcs[:, 2]
    s_along, s_across = arcs[:, 3 + i], arcs[:, 3 + j]
    d = seg[:, 0:1] - along
    h2 = r * r - d * d
    keep = (h2 >= -2.0 * r * tol) & (d * s_along >= -tol)  # tangency counts (rounding)
    keep &= seg_mug[:, None] == arc_mug
    # Each arc lies on one side of its center across the line: the crossing on that side.
    other = across + s_across * np.sqrt(np.maximum(h2, 0.0))
    keep &= (other >= seg[:, 1:2] - tol) & (other <= seg[:, 2:3] + tol)
    out = np.empty((int(keep.sum()), 2))
    out[:, i] = np.broadcast_to(seg[:, 0:1], d.shape)[keep]
    out[:, j] = other[keep]
    return out, np.broadcast_to(arc_mug, d.shape)[keep]


def intersections(
    pc: Pieces, mug_v: np.ndarray, mug_h: np.ndarray, mug_a: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Every point where two pieces of the same mug meet, and that mug's index."""
    v, h, a = pc.v, pc.h, pc.a
    gx = v[:, 0:1] + 0.0 * h[:, 0]
    gy = 0.0 * v[:, 0:1] + h[:, 0]
    ok = (gy >= v[:, 1:2] - tol) & (gy <= v[:, 2:3] + tol) & (mug_v[:, None] == mug_h)
    ok &= (gx >= h[:, 1] - tol) & (gx <= h[:, 2] + tol)
    grid = np.empty((int(ok.sum()), 2))
    grid[:, 0] = gx[ok]
    grid[:, 1] = gy[ok]
    parts = [grid]
    owners = [np.broadcast_to(mug_h, ok.shape)[ok]]
    if a.shape[0]:
        for seg, seg_mug, vertical in ((v, mug_v, True), (h, mug_h, False)):
            pts, who = _line_arc(seg, seg_mug, a, mug_a, vertical, tol)
            parts.append(pts)
            owners.append(who)
    if a.shape[0] > 1:
        i, j = _pairs(a.shape[0])
        same = mug_a[i] == mug_a[j]
        i, j = i[same], j[same]
        c1, c2 = a[i, :2], a[j, :2]
        r1, r2 = a[i, 2], a[j, 2]
        dv = c2 - c1
        d2 = (dv * dv).sum(axis=1)
        d = np.sqrt(d2)
        ok = d > tol
        safe = np.where(ok, d, 1.0)
        along = (r1 * r1 - r2 * r2 + d2) / (2.0 * safe)
        h2 = r1 * r1 - along * along
        ok &= h2 >= -2.0 * r1 * tol
        hh = (np.sqrt(np.maximum(h2, 0.0)) / safe)[:, None]
        base = c1 + (along / safe)[:, None] * dv
        perp = dv[:, ::-1] * [-1.0, 1.0]
        s1, s2 = a[i, 3:5], a[j, 3:5]
        for pts in (base + hh * perp, base - hh * perp):
            good = (
                ok & ((pts - c1) * s1 >= -tol).all(axis=1) & ((pts - c2) * s2 >= -tol).all(axis=1)
            )
            parts.append(pts[good])
            owners.append(mug_a[i][good])
    return np.concatenate(parts), np.concatenate(owners)
