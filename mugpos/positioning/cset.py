"""Constraint sets: a mug's rules as "inside / outside a rounded rectangle" primitives.

Each rule on a mug compiles to a *group* of primitives on the mug's center: inside or outside a
rounded rectangle (a core rectangle grown by a radius; a disk has a point core, a plain
rectangle radius 0). A group holds when all of its primitives do, or any one for ``any_of``
groups ("near a laptop" with two laptops). Group 0 is always the hard rectangle the mug's
center must stay in (the work area, shrunk by half the mug). Violations are weighted by
severity so that a search can trade them off.

Two limits per primitive: the *evaluation* limit (is the rule met here?) and the *search*
limit, tighter by the plan's margin, so that a suggested position meets every rule it meets
with room to spare (re-analysing the moved layout, or a pixel of detector jitter, gives the
same verdicts). Insetting a rounded rectangle by ``d`` is the same core with radius ``r - d``
(a negative radius is the core shrunk, with sharp corners), and the signed distance to the core
handles both, so only the limit changes.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from mugpos.positioning.boundary import _LIM, Pieces, pieces_of
from mugpos.positioning.geometry import Rect, sd_matrix

# Group weights by severity, far apart so that one critical rule outweighs 99 warnings; the
# hard groups (stay inside the work area, never onto another mug or a new object) outweigh
# everything.
SEVERITY_WEIGHT: dict[str, float] = {"info": 1.0, "warning": 100.0, "critical": 10_000.0}
HARD_WEIGHT = 1e7
# Feasibility tolerance as a fraction of the work-area diagonal (scale-invariant).
REL_TOL = 1e-9


def compiled_pieces() -> bool:
    """Whether the compiled kernels serve this process (tests switch them off to compare)."""
    from mugpos.positioning import search

    return not search.NUMPY_ONLY


class ConstraintSet:
    """The compiled groups of one mug in one state (numpy arrays, one row per primitive)."""

    __slots__ = (
        "_pieces",
        "any_idx",
        "any_of",
        "cores",
        "group_of",
        "inside",
        "limit",
        "limit_tight",
        "margin",
        "radius",
        "sign",
        "size",
        "starts",
        "tol",
        "unit_len",
        "weight",
    )  # fmt: skip

    def __init__(
        self,
        cores: np.ndarray,
        radius: np.ndarray,
        inside: np.ndarray,
        starts: np.ndarray,
        any_of: np.ndarray,
        weight: np.ndarray,
        unit_len: float,
        margin: float,
    ) -> None:
        k = cores.shape[0]
        self.cores = cores  # (K, 4)
        self.radius = radius  # (K,)
        self.inside = inside  # (K,) bool
        self.starts = starts  # (G,) index of each group's first primitive
        self.size = np.diff(np.append(starts, k))
        self.any_of = any_of  # (G,) bool
        self.any_idx = np.flatnonzero(any_of)
        self.weight = weight  # (G,)
        self.group_of = np.repeat(np.arange(starts.shape[0]), self.size)
        self.unit_len = unit_len  # work-area diagonal: the unit of scale-free rounding
        self.tol = REL_TOL * unit_len
        self.margin = margin  # px the search keeps inside every limit
        # violated iff sign * sd > limit: inside sd > r + tol; outside sd < r - tol.
        self.sign = np.where(inside, 1.0, -1.0)
        self.limit = np.where(inside, radius + self.tol, self.tol - radius)
        self.limit_tight = self.limit - margin
        self._pieces: Pieces | None = None

    @property
    def n_groups(self) -> int:
        return int(self.starts.shape[0])

    @property
    def pieces(self) -> Pieces:
        """Every primitive's *search* boundary (radius moved by the margin) as segments and
        arcs; built on first use, since most states are only evaluated, never searched."""
        if self._pieces is None:
            r = self.radius + np.where(self.inside, -self.margin, self.margin)
            if compiled_pieces():
                from mugpos.positioning.kernel import pieces

                v, h, a = pieces(np.ascontiguousarray(self.cores), r, _LIM)
                self._pieces = Pieces(v, h, a)
            else:
                self._pieces = pieces_of(self.cores, r)
        return self._pieces

    def hard_rect(self) -> Rect:
        """Where group 0 lets the center go during the search (shrunk by the margin)."""
        x1, y1, x2, y2 = (float(v) for v in self.cores[0])
        d = self.margin - float(self.radius[0])
        return (x1 + d, y1 + d, x2 - d, y2 - d)


class ConstraintBuilder:
    """Collects groups as arrays; one concatenation at :meth:`build`."""

    def __init__(self, unit_len: float, margin: float = 0.0) -> None:
        self.unit_len = max(float(unit_len), 1e-12)
        self.margin = max(float(margin), 0.0)
        self._cores: list[np.ndarray] = []
        self._radius: list[np.ndarray] = []
        self._inside: list[bool] = []
        self._size: list[int] = []
        self._any: list[bool] = []
        self._weight: list[float] = []

    def copy(self) -> ConstraintBuilder:
        other = ConstraintBuilder(self.unit_len, self.margin)
        for name in ("_cores", "_radius", "_inside", "_size", "_any", "_weight"):
            setattr(other, name, getattr(self, name).copy())
        return other

    def group(
        self, prims: Iterable[tuple[Rect, float]], *, inside: bool, any_of: bool, weight: float
    ) -> int | None:
        """Add one group; returns its index, or ``None`` when it has no primitives."""
        items = list(prims)
        if not items:
            return None
        cores = np.asarray([c for c, _ in items], dtype=np.float64).reshape(-1, 4)
        radius = np.asarray([r for _, r in items], dtype=np.float64)
        return self.group_arrays(cores, radius, inside=inside, any_of=any_of, weight=weight)

    def group_arrays(
        self, cores: np.ndarray, radius: np.ndarray, *, inside: bool, any_of: bool, weight: float
    ) -> int | None:
        """:meth:`group` from a ``(k, 4)`` array of cores and ``(k,)`` radii (no Python loop)."""
        if cores.shape[0] == 0:
            return None
        self._cores.append(cores)
        self._radius.append(np.broadcast_to(radius, (cores.shape[0],)))
        self._inside.append(inside)
        self._size.append(cores.shape[0])
        self._any.append(any_of)
        self._weight.append(weight)
        return len(self._size) - 1

    def build(self) -> ConstraintSet:
        size = np.asarray(self._size, dtype=np.intp)
        starts = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.intp)
        return ConstraintSet(
            cores=np.concatenate(self._cores) if self._cores else np.zeros((0, 4)),
            radius=np.concatenate(self._radius) if self._radius else np.zeros(0),
            inside=np.repeat(np.asarray(self._inside, dtype=bool), size),
            starts=starts,
            any_of=np.asarray(self._any, dtype=bool),
            weight=np.asarray(self._weight, dtype=np.float64),
            unit_len=self.unit_len,
            margin=self.margin,
        )


def violated(points: np.ndarray, cs: ConstraintSet, tight: bool = False) -> np.ndarray:
    """``(N, G)`` booleans: which groups each point violates (``tight``: by the search's
    limits, which keep the margin)."""
    sd = sd_matrix(points, cs.cores)
    sd *= cs.sign
    bad = sd > (cs.limit_tight if tight else cs.limit)
    out = np.logical_or.reduceat(bad, cs.starts, axis=1)
    if cs.any_idx.size:
        out[:, cs.any_idx] = np.logical_and.reduceat(bad, cs.starts, axis=1)[:, cs.any_idx]
    return out


def satisfied(points: np.ndarray, cs: ConstraintSet) -> np.ndarray:
    """``(N, G)`` booleans: which groups each point satisfies."""
    return ~violated(points, cs)


def costs(points: np.ndarray, cs: ConstraintSet, tight: bool = False) -> np.ndarray:
    """``(N,)`` weighted sum of the groups each point violates."""
    return violated(points, cs, tight).astype(np.float64) @ cs.weight


def shortfall(point: tuple[float, float], cs: ConstraintSet) -> np.ndarray:
    """``(G,)`` how far (px) the point is from satisfying each group on its own (0 = satisfied).

    Exact for one-primitive groups; for "all" groups the largest single shortfall (a lower bound).
    """
    if cs.n_groups == 0:
        return np.zeros(0)
    sd = sd_matrix(np.asarray([point], dtype=np.float64), cs.cores)[0]
    gap = np.maximum(np.where(cs.inside, sd - cs.radius, cs.radius - sd), 0.0)
    worst = np.maximum.reduceat(gap, cs.starts)
    best = np.minimum.reduceat(gap, cs.starts)
    return np.where(cs.any_of, best, worst)
