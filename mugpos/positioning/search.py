"""The smallest move of each mug: an exact search over candidate points, many mugs at once.

Why exact: the feasible region of a constraint set is bounded by pieces of its primitives'
boundaries (segments and arcs). The feasible point nearest to the start ``p0`` is therefore
``p0``, the point of one piece nearest to ``p0``, or a point where two pieces meet. We
enumerate exactly those candidates, score each by the weighted sum of the groups it violates,
and keep the lexicographic minimum of (violated weight, distance). With no feasible point the
same enumeration yields the least-severe compromise, because the best point for *any* subset of
groups is also among the candidates.

Speed: the nearest points of single pieces are cheap and usually include a feasible point at
distance ``rho``; a nearer intersection can only involve pieces that pass within ``rho`` of
``p0``, which prunes the pairwise step to a handful of pieces. Candidates are checked nearest
first in small chunks, so the first feasible one ends the search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mugpos.positioning.boundary import intersections, projections
from mugpos.positioning.cset import ConstraintSet, costs, violated
from mugpos.positioning.safety import Budget


@dataclass(frozen=True, slots=True)
class SearchResult:
    point: tuple[float, float]
    cost: float  # weighted sum of groups violated at ``point`` (search limits, with the margin)
    ok: np.ndarray  # (G,) groups satisfied at ``point``
    exact: bool = True  # False when the budget cut the candidate enumeration short


CHUNK = 64  # candidates checked per numpy pass, nearest first
CELLS = 2_000_000  # at most this many point x primitive distances per pass (bounds memory)


def _chunk(cs: ConstraintSet) -> int:
    return max(1, min(CHUNK, CELLS // max(cs.cores.shape[0], 1)))


def _in_work_area(points: np.ndarray, cs: ConstraintSet) -> np.ndarray:
    """Drop candidates outside the hard rectangle (group 0), unless none is inside it."""
    x1, y1, x2, y2 = cs.hard_rect()
    t = cs.tol
    keep = (
        (points[:, 0] >= x1 - t)
        & (points[:, 0] <= x2 + t)
        & (points[:, 1] >= y1 - t)
        & (points[:, 1] <= y2 + t)
    )
    return points[keep] if keep.any() else points


def _nearest_first(points: np.ndarray, p0: np.ndarray, cs: ConstraintSet) -> np.ndarray:
    """Candidate order by distance, rounded in scale-free units (so a resized image breaks
    ties the same way); equal distances keep candidate order, which is deterministic."""
    d = (points - p0) / cs.unit_len
    return np.argsort(np.round(np.sqrt((d * d).sum(axis=1)), 9), kind="stable")


def _first_feasible(
    points: np.ndarray, p0: np.ndarray, cs: ConstraintSet, budget: Budget | None = None
) -> int:
    """Index of the nearest candidate that violates nothing (search limits), or -1.

    Checked in chunks, nearest first: usually the first chunk decides, so most candidates are
    never evaluated. The budget's deadline is checked between chunks.
    """
    order = _nearest_first(points, p0, cs)
    step = _chunk(cs)
    for lo in range(0, order.shape[0], step):
        if lo and budget is not None and budget.expired():
            return -1
        idx = order[lo : lo + step]
        hit = np.flatnonzero(~violated(points[idx], cs, tight=True).any(axis=1))
        if hit.size:
            return int(idx[hit[0]])
    return -1


def _least_cost(points: np.ndarray, p0: np.ndarray, cs: ConstraintSet, budget: Budget) -> int:
    """Index of the candidate with the least violated weight (then the nearest), in chunks;
    when the deadline passes, the best of those seen."""
    order = _nearest_first(points, p0, cs)
    step = _chunk(cs)
    best, best_cost = int(order[0]), np.inf
    for lo in range(0, order.shape[0], step):
        if lo and budget.expired():
            break
        idx = order[lo : lo + step]
        cost = costs(points[idx], cs, tight=True)
        k = int(np.argmin(cost))
        if cost[k] < best_cost:
            best, best_cost = int(idx[k]), float(cost[k])
    return best


def _result(
    point: np.ndarray, cs: ConstraintSet, feasible: bool = False, exact: bool = True
) -> SearchResult:
    xy = (float(point[0]), float(point[1]))
    if feasible:
        return SearchResult(xy, 0.0, np.ones(cs.n_groups, dtype=bool), exact)
    bad = violated(point[None], cs, tight=True)[0]
    return SearchResult(xy, float(bad.astype(np.float64) @ cs.weight), ~bad, exact)


# Scenes up to this many primitives per mug use the compiled search (mugpos.positioning.kernel);
# larger ones (hostile requests) the numpy path, which checks its deadline between chunks.
KERNEL_MAX_PRIMS = 400
NUMPY_ONLY = False  # tests flip this to compare both paths


def warm_search() -> None:
    """Compile (or load from numba's cache) the move search now, so a server's or a worker's
    first planned answer does not pay it (0.5 s from the cache, seconds on a first run)."""
    if not NUMPY_ONLY:
        from mugpos.positioning.kernel import warm  # numba loads here, not at import

        warm()


def _compiled(start: tuple[float, float], cs: ConstraintSet, budget: Budget) -> SearchResult | None:
    """The search in one compiled call, when its worst-case candidate count fits the budget
    (it reports what it really used); ``None`` to fall back to the numpy path."""
    from mugpos.positioning.kernel import search

    pc = cs.pieces
    nv, nh, na = pc.v.shape[0], pc.h.shape[0], pc.a.shape[0]
    if budget.expired() or budget.left < nv + nh + na + 1 + _pair_count(nv, nh, na):
        return None
    ends = np.append(cs.starts[1:], cs.cores.shape[0]).astype(np.intp)
    c = np.ascontiguousarray  # one compiled specialisation: C-contiguous float64 everywhere
    x, y, cost, used = search(
        float(start[0]), float(start[1]), c(cs.cores), c(cs.sign), c(cs.limit_tight),
        c(cs.starts, dtype=np.intp), ends, c(cs.any_of), c(cs.weight),
        np.asarray(cs.hard_rect(), dtype=np.float64), float(cs.tol), float(cs.unit_len),
        c(pc.v), c(pc.h), c(pc.a),
    )  # fmt: skip
    budget.take(int(used))
    return _result(np.array([x, y]), cs, feasible=cost == 0.0)


def _pair_count(v: int, h: int, a: int) -> int:
    """Candidate points the pairwise step can produce (segment crossings, line-arc, arc-arc)."""
    return v * h + 2 * (v + h) * a + a * (a - 1)


def best_position(
    start: tuple[float, float],
    cs: ConstraintSet,
    bad0: np.ndarray | None = None,
    budget: Budget | None = None,
) -> SearchResult | None:
    """The nearest point to ``start`` that violates the least weight (0 when feasible).

    ``bad0``: the groups violated at ``start``, when the caller already knows them. With a
    ``budget``, ``None`` when it refuses even the cheap candidates; a result whose pairwise
    step did not fit is marked ``exact=False`` (the best among the candidates it could afford).
    """
    p0 = np.asarray(start, dtype=np.float64)
    if bad0 is None:
        bad0 = violated(p0[None], cs)[0]
    if not bad0.any():
        return SearchResult(point=start, cost=0.0, ok=~bad0)
    budget = budget or Budget.unlimited()
    if cs.cores.shape[0] <= KERNEL_MAX_PRIMS and not NUMPY_ONLY:
        res = _compiled(start, cs, budget)
        if res is not None:
            return res
        if budget.exhausted:
            return None
    # At most 8 pieces per primitive: reserve them before building any (bounds memory too).
    if not budget.take(8 * cs.cores.shape[0] + 1):
        return None
    pc, tol = cs.pieces, cs.tol
    nv, nh, na = pc.v.shape[0], pc.h.shape[0], pc.a.shape[0]
    pv, ph, pa = projections(
        np.broadcast_to(p0, (nv, 2)), np.broadcast_to(p0, (nh, 2)), np.broadcast_to(p0, (na, 2)), pc
    )
    cheap = np.concatenate([pv, ph, pa, p0[None]])  # p0 itself: the best compromise may be to stay
    inside = _in_work_area(cheap, cs)
    k = _first_feasible(inside, p0, cs, budget)
    if k >= 0:
        # A nearer point can only be where two pieces passing within rho of p0 meet.
        rho2 = (float(np.sqrt(((inside[k] - p0) ** 2).sum())) + tol) ** 2
        near = ((cheap - p0) ** 2).sum(axis=1) <= rho2
        pieces = pc.select(near[:nv], near[nv : nv + nh], near[nv + nh : nv + nh + na])
        counts = (pieces.v.shape[0], pieces.h.shape[0], pieces.a.shape[0])
        if not budget.take(_pair_count(*counts)):
            return _result(inside[k], cs, feasible=True, exact=False)
        zeros = [np.zeros(x.shape[0], dtype=np.intp) for x in (pieces.v, pieces.h, pieces.a)]
        pairs, _ = intersections(pieces, *zeros, tol)
        pairs = pairs[((pairs - p0) ** 2).sum(axis=1) <= rho2]
        points = np.concatenate([inside[k : k + 1], _in_work_area(pairs, cs)])
        return _result(points[max(_first_feasible(points, p0, cs), 0)], cs, feasible=True)
    exact = budget.take(_pair_count(nv, nh, na))
    if exact:
        zeros = [np.zeros(n, dtype=np.intp) for n in (nv, nh, na)]
        pairs, _ = intersections(pc, *zeros, tol)
        points = np.concatenate([inside, _in_work_area(pairs, cs)])
        k = _first_feasible(points, p0, cs, budget)
        if k >= 0:
            return _result(points[k], cs, feasible=True)
    else:
        points = inside
    # Nothing is feasible: the least violated weight, then the nearest.
    k = _least_cost(points, p0, cs, budget)
    return _result(points[k], cs, exact=exact and not budget.exhausted)


def best_positions(
    starts: Sequence[tuple[float, float]],
    sets: Sequence[ConstraintSet],
    bad0: Sequence[np.ndarray] | None = None,
    budget: Budget | None = None,
) -> list[SearchResult | None]:
    """:func:`best_position` for several mugs (``None`` where the budget ran out)."""
    budget = budget or Budget.unlimited()
    out: list[SearchResult | None] = []
    for j, (s, cs) in enumerate(zip(starts, sets, strict=True)):
        if budget.expired():
            out.append(None)
            continue
        out.append(best_position(s, cs, None if bad0 is None else bad0[j], budget))
    return out
