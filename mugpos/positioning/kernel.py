"""The move search of :mod:`mugpos.positioning.search`, compiled with numba.

Same candidates, same order, same arithmetic as the numpy path (which stays the reference and
serves scenes too large for this kernel's buffers): the nearest point of every boundary piece,
then where two pieces meet, checked nearest first with the search limits (the margin). The
numpy path spends most of its time in ~50 small array operations per search; here one call
does the whole search, and a feasibility check stops at the first violated group.

Numba compiles on first use and caches the machine code next to this file (``cache=True``),
so only the first process on a machine pays the compile (a few seconds).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_TINY = 1e-300


@njit(cache=True)
def _sd(px: float, py: float, cores: np.ndarray, k: int) -> float:
    dx = max(cores[k, 0] - px, px - cores[k, 2])
    dy = max(cores[k, 1] - py, py - cores[k, 3])
    inner = min(max(dx, dy), 0.0)
    dx = max(dx, 0.0)
    dy = max(dy, 0.0)
    return math.sqrt(dx * dx + dy * dy) + inner


@njit(cache=True)
def _group_bad(px, py, cores, sign, limit, lo, hi, any_of):  # type: ignore[no-untyped-def]
    # Explicit loops (numba compiles no generators): stop at the first deciding primitive.
    if any_of:
        for k in range(lo, hi):  # noqa: SIM110
            if not sign[k] * _sd(px, py, cores, k) > limit[k]:
                return False
        return True
    for k in range(lo, hi):  # noqa: SIM110
        if sign[k] * _sd(px, py, cores, k) > limit[k]:
            return True
    return False


@njit(cache=True)
def _feasible(px, py, cores, sign, limit, starts, ends, any_of):  # type: ignore[no-untyped-def]
    for g in range(starts.shape[0]):
        if _group_bad(px, py, cores, sign, limit, starts[g], ends[g], any_of[g]):
            return False
    return True


@njit(cache=True)
def _cost(px, py, cores, sign, limit, starts, ends, any_of, weight):  # type: ignore[no-untyped-def]
    total = 0.0
    for g in range(starts.shape[0]):
        if _group_bad(px, py, cores, sign, limit, starts[g], ends[g], any_of[g]):
            total += weight[g]
    return total


@njit(cache=True)
def _cost_below(px, py, cores, sign, limit, starts, ends, any_of, weight, heavy, bound):  # type: ignore[no-untyped-def]
    """The violated weight at a point, or any value >= ``bound`` as soon as it reaches it."""
    total = 0.0
    for gi in range(heavy.shape[0]):
        g = heavy[gi]
        if _group_bad(px, py, cores, sign, limit, starts[g], ends[g], any_of[g]):
            total += weight[g]
            if total >= bound:
                return total
    return total


@njit(cache=True)
def _inside_filter(pts, n, rect, tol):  # type: ignore[no-untyped-def]
    """Indices of the points inside the hard rectangle, or all of them when none is."""
    keep = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        x, y = pts[i, 0], pts[i, 1]
        if x >= rect[0] - tol and x <= rect[2] + tol and y >= rect[1] - tol and y <= rect[3] + tol:
            keep[m] = i
            m += 1
    if m == 0:
        for i in range(n):
            keep[i] = i
        m = n
    return keep[:m]


@njit(cache=True)
def _order(pts, idx, p0x, p0y, unit):  # type: ignore[no-untyped-def]
    """``idx`` sorted by distance to p0 rounded in scale-free units, stable."""
    d = np.empty(idx.shape[0])
    for i in range(idx.shape[0]):
        dx = (pts[idx[i], 0] - p0x) / unit
        dy = (pts[idx[i], 1] - p0y) / unit
        d[i] = np.round(math.sqrt(dx * dx + dy * dy), 9)
    return idx[np.argsort(d, kind="mergesort")]


@njit(cache=True)
def _cheap(p0x, p0y, v, h, a):  # type: ignore[no-untyped-def]
    """Nearest point of every piece to p0 (vertical, horizontal, arcs), then p0 itself."""
    nv, nh, na = v.shape[0], h.shape[0], a.shape[0]
    out = np.empty((nv + nh + na + 1, 2))
    for i in range(nv):
        out[i, 0] = v[i, 0]
        out[i, 1] = min(max(p0y, v[i, 1]), v[i, 2])
    for i in range(nh):
        out[nv + i, 0] = min(max(p0x, h[i, 1]), h[i, 2])
        out[nv + i, 1] = h[i, 0]
    for i in range(na):
        cx, cy, r, sx, sy = a[i, 0], a[i, 1], a[i, 2], a[i, 3], a[i, 4]
        dx, dy = p0x - cx, p0y - cy
        n = math.sqrt(dx * dx + dy * dy)
        if n > 0:
            nn = max(n, _TINY)
            ox, oy = cx + r * (dx / nn), cy + r * (dy / nn)
        else:
            ox, oy = cx + r * (sx * 1.0), cy + r * (sx * 0.0)
        exx, exy = cx + r * (sx * 1.0), cy + r * (sy * 0.0)
        eyx, eyy = cx + r * (sx * 0.0), cy + r * (sy * 1.0)
        x_nearer = (exx - p0x) ** 2 + (exy - p0y) ** 2 <= (eyx - p0x) ** 2 + (eyy - p0y) ** 2
        j = nv + nh + i
        if dx * sx >= 0 and dy * sy >= 0:
            out[j, 0], out[j, 1] = ox, oy
        elif x_nearer:
            out[j, 0], out[j, 1] = exx, exy
        else:
            out[j, 0], out[j, 1] = eyx, eyy
    out[nv + nh + na, 0] = p0x
    out[nv + nh + na, 1] = p0y
    return out


@njit(cache=True)
def _pairs(v, h, a, tol):  # type: ignore[no-untyped-def]
    """Every point where two pieces meet, in the numpy path's order."""
    nv, nh, na = v.shape[0], h.shape[0], a.shape[0]
    cap = nv * nh + (nv + nh) * na + na * max(na - 1, 0)
    out = np.empty((max(cap, 1), 2))
    m = 0
    for i in range(nv):
        for j in range(nh):
            gx, gy = v[i, 0] + 0.0 * h[j, 0], 0.0 * v[i, 0] + h[j, 0]
            y_in = gy >= v[i, 1] - tol and gy <= v[i, 2] + tol
            if y_in and gx >= h[j, 1] - tol and gx <= h[j, 2] + tol:
                out[m, 0], out[m, 1] = gx, gy
                m += 1
    for vertical in (True, False):
        seg = v if vertical else h
        for s in range(seg.shape[0]):
            for k in range(na):
                if vertical:
                    along, across, s_along, s_across = a[k, 0], a[k, 1], a[k, 3], a[k, 4]
                else:
                    along, across, s_along, s_across = a[k, 1], a[k, 0], a[k, 4], a[k, 3]
                r = a[k, 2]
                d = seg[s, 0] - along
                h2 = r * r - d * d
                if not (h2 >= -2.0 * r * tol and d * s_along >= -tol):
                    continue
                other = across + s_across * math.sqrt(max(h2, 0.0))
                if other >= seg[s, 1] - tol and other <= seg[s, 2] + tol:
                    if vertical:
                        out[m, 0], out[m, 1] = seg[s, 0], other
                    else:
                        out[m, 0], out[m, 1] = other, seg[s, 0]
                    m += 1
    if na > 1:
        for sign in (1.0, -1.0):
            for i in range(na):
                for j in range(i + 1, na):
                    c1x, c1y, c2x, c2y = a[i, 0], a[i, 1], a[j, 0], a[j, 1]
                    r1, r2 = a[i, 2], a[j, 2]
                    dvx, dvy = c2x - c1x, c2y - c1y
                    d2 = dvx * dvx + dvy * dvy
                    d = math.sqrt(d2)
                    if not d > tol:
                        continue
                    along = (r1 * r1 - r2 * r2 + d2) / (2.0 * d)
                    h2 = r1 * r1 - along * along
                    if not h2 >= -2.0 * r1 * tol:
                        continue
                    hh = math.sqrt(max(h2, 0.0)) / d
                    bx, by = c1x + (along / d) * dvx, c1y + (along / d) * dvy
                    px, py = bx + sign * (hh * (-dvy)), by + sign * (hh * dvx)
                    if (
                        (px - c1x) * a[i, 3] >= -tol
                        and (py - c1y) * a[i, 4] >= -tol
                        and (px - c2x) * a[j, 3] >= -tol
                        and (py - c2y) * a[j, 4] >= -tol
                    ):
                        out[m, 0], out[m, 1] = px, py
                        m += 1
    return out[:m]


@njit(cache=True)
def search(  # type: ignore[no-untyped-def]
    p0x, p0y, cores, sign, limit, starts, ends, any_of, weight, rect, tol, unit, v, h, a
):
    """(x, y, cost, candidates used): the nearest point with the least violated weight."""
    cheap = _cheap(p0x, p0y, v, h, a)
    n_cheap = cheap.shape[0]
    inside = _inside_filter(cheap, n_cheap, rect, tol)
    used = n_cheap
    for i in _order(cheap, inside, p0x, p0y, unit):
        x, y = cheap[i, 0], cheap[i, 1]
        if _feasible(x, y, cores, sign, limit, starts, ends, any_of):
            # A nearer point can only be where two pieces passing within rho of p0 meet.
            rho = math.sqrt((x - p0x) ** 2 + (y - p0y) ** 2) + tol
            rho2 = rho * rho
            nv, nh = v.shape[0], h.shape[0]
            near = np.empty(n_cheap, dtype=np.bool_)
            for j in range(n_cheap):
                near[j] = (cheap[j, 0] - p0x) ** 2 + (cheap[j, 1] - p0y) ** 2 <= rho2
            pv = v[near[:nv]]
            ph = h[near[nv : nv + nh]]
            pa = a[near[nv + nh : n_cheap - 1]]
            pairs = _pairs(pv, ph, pa, tol)
            used += pairs.shape[0]
            close = np.empty(pairs.shape[0], dtype=np.bool_)
            for j in range(pairs.shape[0]):
                close[j] = (pairs[j, 0] - p0x) ** 2 + (pairs[j, 1] - p0y) ** 2 <= rho2
            pairs = pairs[close]
            kept = _inside_filter(pairs, pairs.shape[0], rect, tol)
            pts = np.empty((kept.shape[0] + 1, 2))
            pts[0, 0], pts[0, 1] = x, y
            for j in range(kept.shape[0]):
                pts[j + 1, 0], pts[j + 1, 1] = pairs[kept[j], 0], pairs[kept[j], 1]
            allidx = np.arange(pts.shape[0])
            for j in _order(pts, allidx, p0x, p0y, unit):
                if _feasible(pts[j, 0], pts[j, 1], cores, sign, limit, starts, ends, any_of):
                    return pts[j, 0], pts[j, 1], 0.0, used
            return x, y, 0.0, used
    pairs = _pairs(v, h, a, tol)
    used += pairs.shape[0]
    kept = _inside_filter(pairs, pairs.shape[0], rect, tol)
    pts = np.empty((inside.shape[0] + kept.shape[0], 2))
    for j in range(inside.shape[0]):
        pts[j, 0], pts[j, 1] = cheap[inside[j], 0], cheap[inside[j], 1]
    for j in range(kept.shape[0]):
        pts[inside.shape[0] + j, 0] = pairs[kept[j], 0]
        pts[inside.shape[0] + j, 1] = pairs[kept[j], 1]
    order = _order(pts, np.arange(pts.shape[0]), p0x, p0y, unit)
    for j in order:
        if _feasible(pts[j, 0], pts[j, 1], cores, sign, limit, starts, ends, any_of):
            return pts[j, 0], pts[j, 1], 0.0, used
    # Heaviest groups first, and stop adding once a point cannot beat the best so far: the
    # same least-cost-then-nearest answer, most candidates decided after a group or two.
    heavy = np.argsort(-weight, kind="mergesort")
    best, best_cost = order[0], np.inf
    for j in order:
        c = _cost_below(pts[j, 0], pts[j, 1], cores, sign, limit, starts, ends, any_of, weight,
                        heavy, best_cost)  # fmt: skip
        if c < best_cost:
            best, best_cost = j, c
    return pts[best, 0], pts[best, 1], best_cost, used


_WARM = False


def warm() -> None:
    """Compile (or load from the cache) before a plan's budget starts counting: the first
    call in a process costs about 0.5 s from the cache, about 5 s on a machine's first run."""
    global _WARM
    if _WARM:
        return
    f = np.zeros((1, 4))
    v = np.zeros((1, 3))
    search(
        0.0, 0.0, f, np.ones(1), np.ones(1), np.zeros(1, dtype=np.intp), np.ones(1, dtype=np.intp),
        np.zeros(1, dtype=np.bool_), np.ones(1), np.zeros(4), 1e-9, 1.0, v, v.copy(),
        np.zeros((0, 5)),
    )  # fmt: skip
    pieces(f, np.ones(1), 1e9)
    _WARM = True


@njit(cache=True)
def _lex_unique(rows):  # type: ignore[no-untyped-def]
    """Rows sorted lexicographically, duplicates dropped: ``np.unique(rows, axis=0)``."""
    n, w = rows.shape
    idx = np.arange(n)
    for c in range(w - 1, -1, -1):  # least significant column first; mergesort is stable
        idx = idx[np.argsort(rows[idx, c], kind="mergesort")]
    out = np.empty((n, w))
    m = 0
    for i in range(n):
        r = rows[idx[i]]
        if m > 0:
            same = True
            for c in range(w):
                if out[m - 1, c] != r[c]:
                    same = False
                    break
            if same:
                continue
        out[m] = r
        m += 1
    return out[:m]


@njit(cache=True)
def pieces(cores, radius, lim):  # type: ignore[no-untyped-def]
    """:func:`mugpos.positioning.boundary.pieces_of`, compiled (same pieces, same order)."""
    k = cores.shape[0]
    v = np.empty((2 * k, 3))
    h = np.empty((2 * k, 3))
    a = np.empty((4 * k, 5))
    nv = nh = na = 0
    for i in range(k):
        r = radius[i]
        s = min(r, 0.0)
        x1, y1 = cores[i, 0] + s * -1.0, cores[i, 1] + s * -1.0
        x2, y2 = cores[i, 2] + s * 1.0, cores[i, 3] + s * 1.0
        r = max(r, 0.0)
        for x in (x1 - r, x2 + r):
            if abs(x) < lim:
                v[nv, 0], v[nv, 1], v[nv, 2] = x, y1, y2
                nv += 1
        for y in (y1 - r, y2 + r):
            if abs(y) < lim:
                h[nh, 0], h[nh, 1], h[nh, 2] = y, x1, x2
                nh += 1
    for cxi in range(2):
        for cyi in range(2):
            for i in range(k):
                r = radius[i]
                if not r > 0:
                    continue
                cx = cores[i, 0] if cxi == 0 else cores[i, 2]
                cy = cores[i, 1] if cyi == 0 else cores[i, 3]
                if abs(cx) < lim and abs(cy) < lim:
                    a[na, 0], a[na, 1], a[na, 2] = cx, cy, r
                    a[na, 3] = -1.0 if cxi == 0 else 1.0
                    a[na, 4] = -1.0 if cyi == 0 else 1.0
                    na += 1
    return _lex_unique(v[:nv]), _lex_unique(h[:nh]), _lex_unique(a[:na])
