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
from mugpos.positioning import search as search_module
from mugpos.positioning.constraints import OVERLAP, MugConstraints, PreparedRule, alignment_core
from mugpos.positioning.cset import ConstraintSet, violated
from mugpos.positioning.frame import SceneFrame
from mugpos.positioning.geometry import Rect, center, expand, rect_sd, translate
from mugpos.positioning.measure import vector
from mugpos.positioning.models import Suggestion, Vector
from mugpos.positioning.safety import Budget, PlanBudget, Safety
from mugpos.positioning.search import SearchResult, best_positions

# A mug with no better place is searched again after other mugs move, at most this many times.
RETRIES = 2


@dataclass(slots=True)
class MugState:
    """Which rules one mug violates at one position."""

    cost: float  # violated weight, the hard groups included
    violated: set[int]  # indices into ``prepared`` of violated rules
    inside: bool  # the center is where group 0 allows it (work area, or image when relaxed)
    hard: bool  # every implicit hard constraint holds (containment, objects, no overlap)


def _state(
    cs: ConstraintSet, owners: list[int], c: tuple[float, float], at_start: bool
) -> tuple[MugState, np.ndarray]:
    """The state at ``c``. A mug at its own starting place has not moved, so the "a moved mug
    never overlaps another" group does not apply to it there (an overlap the photo shows is not
    one the plan made)."""
    bad = violated(np.asarray([c], dtype=np.float64), cs)[0]
    if at_start:
        for g, owner in enumerate(owners):
            if owner == OVERLAP:
                bad[g] = False
    cost = float(bad.astype(np.float64) @ cs.weight)
    hit = {owners[g] for g in np.flatnonzero(bad) if owners[g] >= 0}
    hard = not any(bad[g] for g, owner in enumerate(owners) if owner < 0 or g == 0)
    return MugState(cost=cost, violated=hit, inside=not bool(bad[0]), hard=hard), bad


@dataclass(slots=True)
class _Entry:
    """A mug's state and best move, valid until a move of another mug could change them."""

    state: MugState
    result: SearchResult | None  # None: nothing violated, or the budget refused the search
    reach: float  # the result depends only on constraints within this distance of the mug


@dataclass(frozen=True, slots=True)
class Plan:
    """Where every mug starts and ends, and which rules it violates before and after.

    ``partial``: the work budget ran out (``why``: time, candidates or iterations) and this is
    the best plan found so far; ``unplanned`` mugs were never searched because of it.
    """

    start: list[Rect]
    final: list[Rect]
    before: list[MugState]
    after: list[MugState]
    partial: bool = False
    why: str = ""
    unplanned: frozenset[int] = frozenset()
    candidates: int = 0  # candidate points the searches generated (what the budget counts)


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
        safety: Safety | None = None,
        budget: PlanBudget | None = None,
    ) -> None:
        safety = safety or Safety()
        self.frame = frame
        self.start = list(frame.mugs)
        self.boxes = list(frame.mugs)
        self.mugs = (
            list(mugs)
            if mugs is not None
            else [MugConstraints(frame, prepared, m, b, safety) for m, b in enumerate(self.boxes)]
        )
        search_module.warm_search()  # before the budget's clock starts
        self.budget = Budget(budget or PlanBudget.from_settings())
        self.search = any(p.active for p in prepared)
        margin = safety.margin_pct / 100.0 * frame.short_side
        spacing = [p for p in prepared if p.active and p.rule.kind == "mug_spacing"]
        # Radii (search limits, with the margin) of the regions other mugs forbid.
        self.spacing = [p.px + margin for p in spacing if p.rule.comparator == "at_least"]
        if safety.no_mug_overlap and len(self.boxes) > 1:
            self.spacing.append(margin)
        self.near_mugs = [p.px for p in spacing if p.rule.comparator == "at_most"]
        self.aligns = [p for p in prepared if p.active and p.rule.kind == "alignment"]
        self.entries: dict[int, _Entry] = {}
        self.failures: dict[int, int] = {}  # searches that found no better place, per mug
        self.unplanned: set[int] = set()
        self.tol = 1e-8 * frame.diagonal

    def state(self, m: int) -> tuple[MugState, np.ndarray]:
        cs, owners = self.mugs[m].at(self.boxes)
        return _state(cs, owners, center(self.boxes[m]), self.boxes[m] == self.start[m])

    def refresh(self) -> None:
        """Fill missing entries: states of all those mugs, then one batched search."""
        missing = [m for m in range(len(self.boxes)) if m not in self.entries]
        if not missing:
            return
        built = [self.mugs[m].at(self.boxes) for m in missing]
        centers = [center(self.boxes[m]) for m in missing]
        states = [
            _state(cs, owners, c, self.boxes[m] == self.start[m])
            for (cs, owners), c, m in zip(built, centers, missing, strict=True)
        ]
        todo = [i for i, (st, _) in enumerate(states) if st.cost > 0.0]
        found = (
            best_positions(
                [centers[i] for i in todo],
                [built[i][0] for i in todo],
                [states[i][1] for i in todo],
                self.budget,
            )
            if todo
            else []
        )
        results = dict(zip(todo, found, strict=True))
        for i, m in enumerate(missing):
            res, reach = results.get(i), 0.0
            if i in results and res is None:
                self.unplanned.add(m)
            if res is not None:
                self.unplanned.discard(m)
                c = centers[i]
                d = math.hypot(res.point[0] - c[0], res.point[1] - c[1])
                reach = d if res.cost == 0.0 and res.exact else math.inf
                if res.cost >= states[i][0].cost:
                    self.failures[m] = self.failures.get(m, 0) + 1
            self.entries[m] = _Entry(states[i][0], res, reach)

    def affected(self, m: int, old: Rect, new: Rect, before: Sequence[Rect]) -> bool:
        """Whether moving another mug from ``old`` to ``new`` can change mug ``m``'s entry.

        Exact. The entry's answer was the best point within ``reach`` of the mug. The space the
        other mug leaves can only offer a nearer point if its old spacing region came within
        ``reach``; the space it takes only matters if it covers the mug or the chosen point
        (more constraints that the optimum satisfies leave it optimal). "Near another mug"
        rules (at_most) and alignment are checked conservatively. The "no overlap" constraint
        is a spacing region of radius 0 (plus the margin, like every spacing region).
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
        self.refresh()
        before = [self.entries[m].state for m in range(n)]
        converged = True
        for _ in range(4 * n + 4 if self.search else 0):
            if self.budget.expired():
                break
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
        else:
            converged = not self.search or n == 0
        after = [self.state(m)[0] for m in range(n)]
        unplanned = frozenset(m for m in self.unplanned if after[m].cost > 0.0)
        why = self.budget.why or ("" if converged else "iterations")
        return Plan(
            start=list(self.start),
            final=list(self.boxes),
            before=before,
            after=after,
            partial=bool(why),
            why=why,
            unplanned=unplanned,
            candidates=self.budget.used,
        )


def plan_moves(
    frame: SceneFrame,
    prepared: Sequence[PreparedRule],
    mugs: Sequence[MugConstraints] | None = None,
    safety: Safety | None = None,
    budget: PlanBudget | None = None,
) -> Plan:
    """Where every mug should go; ``mugs`` reuses constraints already built for the scene."""
    return _Planner(frame, prepared, mugs, safety, budget).run()


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
        feasible = not after and plan.after[m].hard
        needed = bool(before) or not plan.before[m].hard
        if m in plan.unplanned:
            message = (
                f"mug {m}: not planned, the planner's work budget ran out ({plan.why}); "
                "it still breaks " + ", ".join(prepared[i].rule.name for i in sorted(after))
            )
        else:
            message = _message(m, before, after, move, feasible, prepared)
        out.append(
            Suggestion(
                mug=m,
                needed=needed,
                feasible=feasible,
                move=move,
                box=Box.from_xyxy(b1),
                fixes=[ids[i] for i in sorted(before - after)],
                unmet=[ids[i] for i in sorted(after)],
                message=message,
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
    names = ", ".join(prepared[i].rule.name for i in sorted(after)) or "the hard constraints"
    if move.length_px == 0.0:
        return (
            f"mug {m}: no reachable position satisfies {names} (moves stay on the work area, "
            "off other mugs and off objects the mug was not on); leave it where it is"
        )
    return (
        f"no reachable position satisfies every rule for mug {m}; moving it "
        f"{_direction(move)} leaves the least severe violations: {names}"
    )
