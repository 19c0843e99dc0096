"""What every plan must respect besides the user's rules, and how much work it may spend.

``Safety`` holds the implicit hard constraints (on by default; a caller can relax each one
explicitly) and the margin a move keeps inside every limit. ``PlanBudget`` bounds the planner's
work (wall time and candidate points), so that a hostile scene cannot run or grow without end:
when it runs out, the plan so far is returned and marked partial.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field

WORK_AREA_RULE_ID = "builtin.work-area"
WORK_AREA_RULE_NAME = "inside the work area"


class Safety(BaseModel):
    """Implicit hard constraints of every plan (see docs/positioning.md, "Safety")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    no_mug_overlap: bool = Field(
        default=True,
        description="A moved mug never overlaps another mug (at its final position, with the "
        "other mugs' moves applied).",
    )
    no_new_object: bool = Field(
        default=True,
        description="A moved mug never lands on a laptop, keyboard, book, ... it was not on.",
    )
    in_work_area: bool = Field(
        default=True,
        description="Mugs stay on the table or desk: checked as a critical rule "
        f"('{WORK_AREA_RULE_ID}') on every mug, and moves stay inside it. Off: moves only "
        "stay inside the image and containment is not checked.",
    )
    margin_pct: float = Field(
        default=1.0,
        ge=0.0,
        le=10.0,
        description="A move lands this far (% of the work area's short side) inside every "
        "limit it meets, so the moved layout re-analysed gives the same zones and verdicts.",
    )


class PlanBudget(BaseModel):
    """The planner's work budget (defaults: ``MUGPOS_PLAN_TIME_BUDGET_S`` and
    ``MUGPOS_PLAN_MAX_CANDIDATES``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_s: float = Field(default=1.0, gt=0.0, le=600.0)
    max_candidates: int = Field(default=2_000_000, ge=1)

    @classmethod
    def from_settings(cls) -> PlanBudget:
        from mugpos.settings import get_settings

        s = get_settings()
        return cls(time_s=s.plan_time_budget_s, max_candidates=s.plan_max_candidates)


class Budget:
    """A running budget: a deadline and a candidate allowance, shared by every search."""

    __slots__ = ("deadline", "exhausted", "left", "total", "why")

    def __init__(self, plan: PlanBudget) -> None:
        self.deadline = time.perf_counter() + plan.time_s
        self.left = self.total = plan.max_candidates
        self.exhausted = False
        self.why = ""

    @property
    def used(self) -> int:
        return self.total - self.left

    def expired(self) -> bool:
        if not self.exhausted and time.perf_counter() > self.deadline:
            self.stop("time")
        return self.exhausted

    def take(self, n: int) -> bool:
        """Reserve ``n`` candidate points; False (and exhausted) when that is over budget."""
        if self.expired():
            return False
        if n > self.left:
            self.stop("candidates")
            return False
        self.left -= n
        return True

    def stop(self, why: str) -> None:
        if not self.exhausted:
            self.exhausted, self.why = True, why

    @classmethod
    def unlimited(cls) -> Budget:
        return cls(PlanBudget(time_s=600.0, max_candidates=10**15))
