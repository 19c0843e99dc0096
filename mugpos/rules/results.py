"""What evaluating one rule on one mug returns (API-facing)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mugpos.rules.schema import Comparator, RuleKind, Severity

RuleStatus = Literal["satisfied", "violated", "not_applicable", "not_found"]
# The implicit containment check ("builtin.work-area") is reported like a rule of this kind.
ResultKind = RuleKind | Literal["in_work_area"]


class RuleResult(BaseModel):
    """One rule on one mug: status, measured and required value (in the rule's unit), message.

    ``not_applicable`` means the rule could not be checked here (a physical unit without a
    scale, spacing with one mug); ``not_found`` means the object the rule is about is not in
    the scene ("no laptop found": missed by the detector or absent). Neither counts as
    satisfied or violated, and neither moves a mug.
    """

    model_config = ConfigDict(frozen=True)

    rule_id: str
    rule_name: str
    rule_version: int
    kind: ResultKind
    severity: Severity
    mug: int | None = Field(description="Mug index in the layout; None for scene-level results.")
    status: RuleStatus
    measured: float | None = None
    required: float | None = None
    unit: str | None = None
    comparator: Comparator | None = None
    violation: float = Field(
        default=0.0, ge=0.0, le=1.0, description="How far from satisfied, 0..1 (see docs)."
    )
    message: str

    @property
    def satisfied(self) -> bool:
        return self.status == "satisfied"
