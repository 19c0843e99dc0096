"""Constraint sets: a mug's rules as "inside / outside a rounded rectangle" primitives.

Each rule on a mug compiles to a *group* of primitives on the mug's center: inside or outside a
rounded rectangle (a core rectangle grown by a radius; a disk has a point core, a plain
rectangle radius 0). A group holds when all of its primitives do, or any one for ``any_of``
groups ("near a laptop" with two laptops). Group 0 is always the hard rule: the mug stays inside
the work area. Violations are weighted by severity so that a search can trade them off.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from mugpos.positioning.boundary import Pieces
from mugpos.positioning.geometry import Rect, sd_matrix

# Group weights by severity, far apart so that one critical rule outweighs 99 warnings; the
# hard group (stay inside the work area) outweighs everything.
SEVERITY_WEIGHT: dict[str, float] = {"info": 1.0, "warning": 100.0, "critical": 10_000.0}
HARD_WEIGHT = 1e7
# Feasibility tolerance as a fraction of the work-area diagonal (scale-invariant).
REL_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class ConstraintSet:
    cores: np.ndarray  # (K, 4) float64
    radius: np.ndarray  # (K,)
    inside: np.ndarray  # (K,) bool
    starts: np.ndarray  # (G,) index of each group's first primitive
    member: np.ndarray  # (K, G) float32, 1 where primitive k belongs to group g
    size: np.ndarray  # (G,) primitives per group
    any_of: np.ndarray  # (G,) bool
    weight: np.ndarray  # (G,)
    tol: float
    unit_len: float  # work-area diagonal: the unit of scale-free rounding
    pieces: Pieces  # every primitive's boundary as segments and arcs
    sign: np.ndarray  # (K,) +1 inside, -1 outside: violated iff sign * sd > limit
    limit: np.ndarray  # (K,) r + tol inside, -(r - tol) outside
    group_limit: np.ndarray  # (G,) violated iff bad count > this (all-of 0.5, any-of size - 0.5)

    @property
    def n_groups(self) -> int:
        return int(self.starts.shape[0])


class ConstraintBuilder:
    """Collects groups as plain tuples; one numpy conversion at :meth:`build`."""

    def __init__(self, unit_len: float) -> None:
        self.unit_len = max(float(unit_len), 1e-12)
        self._cores: list[Rect] = []
        self._radius: list[float] = []
        self._inside: list[bool] = []
        self._starts: list[int] = []
        self._any: list[bool] = []
        self._weight: list[float] = []
        self._pieces = Pieces.collector()

    def copy(self) -> ConstraintBuilder:
        other = ConstraintBuilder(self.unit_len)
        for name in ("_cores", "_radius", "_inside", "_starts", "_any", "_weight"):
            setattr(other, name, getattr(self, name).copy())
        other._pieces = self._pieces.copy()
        return other

    def group(
        self, prims: Iterable[tuple[Rect, float]], *, inside: bool, any_of: bool, weight: float
    ) -> int | None:
        """Add one group; returns its index, or ``None`` when it has no primitives."""
        start = len(self._cores)
        for core, radius in prims:
            self._cores.append(core)
            self._radius.append(radius)
            self._inside.append(inside)
            self._pieces.add(core, radius)
        if len(self._cores) == start:
            return None
        self._starts.append(start)
        self._any.append(any_of)
        self._weight.append(weight)
        return len(self._starts) - 1

    def build(self) -> ConstraintSet:
        k, g = len(self._cores), len(self._starts)
        starts = np.asarray(self._starts, dtype=np.intp)
        size = np.diff(np.append(starts, k))
        member = np.zeros((k, g), dtype=np.float32)
        member[np.arange(k), np.repeat(np.arange(g), size)] = 1.0
        tol = REL_TOL * self.unit_len
        radius = np.asarray(self._radius, dtype=np.float64)
        inside = np.asarray(self._inside, dtype=bool)
        any_of = np.asarray(self._any, dtype=bool)
        return ConstraintSet(
            cores=np.asarray(self._cores, dtype=np.float64).reshape(-1, 4),
            radius=radius,
            inside=inside,
            starts=starts,
            member=member,
            size=size.astype(np.float32),
            any_of=any_of,
            weight=np.asarray(self._weight, dtype=np.float64),
            tol=tol,
            unit_len=self.unit_len,
            pieces=self._pieces.build(),
            sign=np.where(inside, 1.0, -1.0),
            limit=np.where(inside, radius + tol, tol - radius),
            group_limit=np.where(any_of, size - 0.5, 0.5).astype(np.float32),
        )


def violated(points: np.ndarray, cs: ConstraintSet) -> np.ndarray:
    """``(N, G)`` booleans: which groups each point violates."""
    sd = sd_matrix(points, cs.cores)
    sd *= cs.sign  # inside: sd > r + tol; outside: sd < r - tol, i.e. -sd > tol - r
    bad = sd > cs.limit
    return (bad.astype(np.float32) @ cs.member) > cs.group_limit


def satisfied(points: np.ndarray, cs: ConstraintSet) -> np.ndarray:
    """``(N, G)`` booleans: which groups each point satisfies."""
    return ~violated(points, cs)


def costs(points: np.ndarray, cs: ConstraintSet) -> np.ndarray:
    """``(N,)`` weighted sum of the groups each point violates."""
    return violated(points, cs).astype(np.float64) @ cs.weight


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
