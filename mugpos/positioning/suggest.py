"""Suggestions: the smallest move per mug that satisfies every enabled rule.

Each mug's move comes from the exact search in :mod:`mugpos.positioning.search`, with the other
mugs held where they are. Rules that tie mugs together (spacing, alignment) make the moves
depend on each other, so then we move one mug at a time, greedily: the move that removes the
most violated weight (then the shortest) goes first, and every mug is re-checked after it. A mug
that satisfies all its rules never moves, so other mugs move only when the rules demand it; a
mug with no better place is retried at most ``RETRIES`` times as others move.
For one mug the result is the exact optimum; for coupled mugs it is a greedy plan whose outcome
is verified, so ``feasible`` is always true to the final positions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mugpos.detections import Box
from mugpos.positioning.constraints import MugConstraints, PreparedRule, alignment_core
from mugpos.positioning.cset import ConstraintSet, violated
from mugpos.positioning.frame import SceneFrame
from mugpos.positioning.geometry import Rect, center, expand, rect_sd, translate
from mugpos.positioning.measure import vector
from mugpos.positioning.models import Suggestion, Vector
from mugpos.positioning.search import SearchResult, best_positions

# A mug with no better place is searched again after other mugs move, at most this many times.
RETRIES = 2


@dataclass(slots=True)
class MugState:
    """Which rules one mug violates at one position."""

    cost: float  # violated weight, the work-area group included
    violated: set[int]  # indices into ``prepared`` of violated rules
    inside: bool  # the center is where the work area allows it (group 0)


def _state(
    cs: ConstraintSet, owners: list[int], c: tuple[float, float]
) -> tuple[MugState, np.ndarray]:
    bad = violated(np.asarray([c], dtype=np.float64), cs)[0]
    cost = float(bad.astype(np.float64) @ cs.weight)
    hit = {owners[g] for g in np.flatnonzero(bad) if owners[g] >= 0}
    return MugState(cost=cost, violated=hit, inside=not bool(bad[0])), bad


@dataclass(slots=True)
class _Entry:
    """A mug's state and best move, valid until a move of another mug could change them."""

    state: MugState
    result: SearchResult | None  # None: nothing violated, nothing to search
    reach: float  # the result depends only on constraints within this distance of the mug


@dataclass(frozen=True, slots=True)
class Plan:
    """Where every mug starts and ends, and which rules it violates before and after."""

    start: list[Rect]
    final: list[Rect]
    before: list[MugState]
    after: list[MugState]


def _moved(box: Rect, to: tuple[float, float]) -> Rect:
    cx, cy = center(box)
    return translate(box, to[0] - cx, to[1] - cy)


class _Planner:
    """Greedy moves with cached per-mug searches (see the module docstring)."""

    def __init__(
        self,
        frame: SceneFrame,
        prepared: Sequence[PreparedRule],
        mugs: Sequence[MugConstraints] | None = None,
    ) -> None:
        self.frame = frame
        self.boxes = list(frame.mugs)
        self.mugs = (
            list(mugs)
            if mugs is not None
            else [MugConstraints(frame, prepared, m, b) for m, b in enumerate(self.boxes)]
        )
        self.search = any(p.active for p in prepared)
        spacing = [p for p in prepared if p.active and p.rule.kind == "mug_spacing"]
        self.spacing = [p.px for p in spacing if p.rule.comparator == "at_least"]
        self.near_mugs = [p.px for p in spacing if p.rule.comparator == "at_most"]
        self.aligns = [p for p in prepared if p.active and p.rule.kind == "alignment"]
        self.entries: dict[int, _Entry] = {}
        self.failures: dict[int, int] = {}  # searches that found no better place, per mug
        self.tol = 1e-8 * frame.diagonal

    def refresh(self) -> None:
        """Fill missing entries: states of all those mugs, then one batched search."""
        missing = [m for m in range(len(self.boxes)) if m not in self.entries]
        if not missing:
            return
        built = [self.mugs[m].at(self.boxes) for m in missing]
        centers = [center(self.boxes[m]) for m in missing]
        states = [_state(cs, owners, c) for (cs, owners), c in zip(built, centers, strict=True)]
        todo = [i for i, (st, _) in enumerate(states) if st.violated]
        found = (
            best_positions(
                [centers[i] for i in todo],
                [built[i][0] for i in todo],
                [states[i][1] for i in todo],
            )
            if todo
            else []
        )
        results = dict(zip(todo, found, strict=True))
        for i, m in enumerate(missing):
            res, reach = results.get(i), 0.0
            if res is not None:
                c = centers[i]
                d = math.hypot(res.point[0] - c[0], res.point[1] - c[1])
                reach = d if res.cost == 0.0 else math.inf
                if res.cost >= states[i][0].cost:
                    self.failures[m] = self.failures.get(m, 0) + 1
            self.entries[m] = _Entry(states[i][0], res, reach)

    def affected(self, m: int, old: Rect, new: Rect, before: Sequence[Rect]) -> bool:
        """Whether moving another mug from ``old`` to ``new`` can change mug ``m``'s entry.

        Exact. The entry's answer was the best point within ``reach`` of the mug. The space the
        other mug leaves can only offer a nearer point if its old spacing region came within
        ``reach``; the space it takes only matters if it covers the mug or the chosen point
        (more constraints that the optimum satisfies leave it optimal). "Near another mug"
        rules (at_most) and alignment are checked conservatively.
        """
        e = self.entries[m]
        coupled = self.spacing or self.aligns or self.near_mugs
        if math.isinf(e.reach) and coupled and self.failures.get(m, 0) < RETRIES:
            return True
        for p in self.aligns:
            axis = p.rule.axis
            if alignment_core(axis, before, p.px) != alignment_core(axis, self.boxes, p.px):
                return True
        mc = self.mugs[m]
        c = center(self.boxes[m])
        old_core, new_core = expand(old, mc.hw, mc.hh), expand(new, mc.hw, mc.hh)
        if math.isinf(e.reach):  # given up on: only its state at its own place must stay true
            regions = self.spacing + self.near_mugs
            return any(
                rect_sd(*c, b) <= r + self.tol for b in (old_core, new_core) for r in regions
            )
        reach = e.reach + self.tol
        if any(rect_sd(*c, old_core) <= r + reach for r in self.spacing + self.near_mugs):
            return True
        if any(rect_sd(*c, new_core) <= r + reach for r in self.near_mugs):
            return True
        points = [c] if e.result is None else [c, e.result.point]
        return any(rect_sd(x, y, new_core) < r + self.tol for x, y in points for r in self.spacing)

    def run(self) -> Plan:
        n = len(self.boxes)
        start = list(self.boxes)
        self.refresh()
        before = [self.entries[m].state for m in range(n)]
        for _ in range(4 * n + 4 if self.search else 0):
            best: tuple[float, float, int] | None = None
            self.refresh()
            for m in range(n):
                e = self.entries[m]
                if e.result is None or e.result.cost >= e.state.cost:
                    continue  # satisfied, or no move makes it better
                key = (e.result.cost - e.state.cost, round(e.reach / self.frame.diagonal, 9), m)
                if best is None or key < best:
                    best = key
            if best is None:
                break
            k = best[2]
            previous = list(self.boxes)
            old = self.boxes[k]
            point = self.entries.pop(k).result.point  # type: ignore[union-attr]
            self.boxes[k] = _moved(old, point)
            for m in list(self.entries):
                if self.affected(m, old, self.boxes[k], previous):
                    del self.entries[m]
        self.refresh()
        after = [self.entries[m].state for m in range(n)]
        return Plan(start=start, final=list(self.boxes), before=before, after=after)


def plan_moves(
    frame: SceneFrame,
    prepared: Sequence[PreparedRule],
    mugs: Sequence[MugConstraints] | None = None,
) -> Plan:
    """Where every mug should go; ``mugs`` reuses constraints already built for the scene."""
    return _Planner(frame, prepared, mugs).run()


def suggest_moves(
    frame: SceneFrame, prepared: Sequence[PreparedRule], plan: Plan | None = None
) -> list[Suggestion]:
    """One suggestion per mug (index order) from ``plan`` (default: :func:`plan_moves`)."""
    plan = plan or plan_moves(frame, prepared)
    ids = [p.rule.id for p in prepared]
    out = []
    for m, (b0, b1) in enumerate(zip(plan.start, plan.final, strict=True)):
        before, after = plan.before[m].violated, plan.after[m].violated
        (x0, y0), (x1, y1) = center(b0), center(b1)
        move = vector(frame, x1 - x0, y1 - y0)
        feasible = not after and (plan.after[m].inside or not before)
        out.append(
            Suggestion(
                mug=m,
                needed=bool(before),
                feasible=feasible,
                move=move,
                box=Box.from_xyxy(b1),
                fixes=[ids[i] for i in sorted(before - after)],
                unmet=[ids[i] for i in sorted(after)],
                message=_message(m, before, after, move, feasible, prepared),
            )
        )
    return out


def _direction(move: Vector) -> str:
    parts = []
    for d_px, d_mm, pos, neg in (
        (move.dx_px, move.dx_mm, "right", "left"),
        (move.dy_px, move.dy_mm, "down", "up"),
    ):
        if abs(d_px) >= 0.05:
            mm = "" if d_mm is None else f" ({abs(d_mm) / 10.0:.1f} cm)"
            parts.append(f"{pos if d_px > 0 else neg} {abs(d_px):.1f} px{mm}")
    return " and ".join(parts) or "by less than 0.1 px"


def _message(
    m: int,
    before: set[int],
    after: set[int],
    move: Vector,
    feasible: bool,
    prepared: Sequence[PreparedRule],
) -> str:
    if not before:
        return f"mug {m} already satisfies every rule"
    if feasible:
        if move.length_px == 0.0:
            return f"mug {m} needs no move once the other mugs have moved"
        return f"move mug {m} {_direction(move)} to satisfy every rule"
    names = ", ".join(prepared[i].rule.name for i in sorted(after))
    if move.length_px == 0.0:
        return f"mug {m}: no position in the work area satisfies {names}; leave it where it is"
    return (
        f"no position in the work area satisfies every rule for mug {m}; moving it "
        f"{_direction(move)} leaves the least severe violations: {names}"
    )
