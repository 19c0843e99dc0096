"""Rules: CRUD, versions, restore, parse (plain language) and evaluate (given detections)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mugpos.detections import Detection
from mugpos.positioning.models import Suggestion
from mugpos.positioning.safety import Safety
from mugpos.positioning.targets import Target
from mugpos.positioning.zones import Grid
from mugpos.rules.results import RuleResult
from mugpos.rules.schema import (
    AlignAxis,
    Comparator,
    Edge,
    Rule,
    RuleKind,
    Severity,
    TargetName,
)
from mugpos.units import LengthUnit, Scale
from mugpos_serving.schemas.common import name_inline_rules

MAX_DETECTIONS = 500
MAX_RULES = 100

_RULE_EXAMPLE: dict[str, Any] = {
    "id": "rule-laptop-10cm",
    "name": "laptop clearance ≥ 10 cm",
    "kind": "object_clearance",
    "comparator": "at_least",
    "value": 10,
    "unit": "cm",
    "object_label": "laptop",
    "severity": "warning",
}


class RuleChanges(BaseModel):
    """Fields to change; the result is validated as a whole rule and stored as a new version.
    ``expected_version`` makes the write fail (409) if someone else changed the rule first."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"value": 15, "expected_version": 1}]},
    )

    expected_version: int | None = Field(default=None, ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    text: str | None = Field(default=None, max_length=1000)
    enabled: bool | None = None
    severity: Severity | None = None
    kind: RuleKind | None = None
    comparator: Comparator | None = None
    value: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    unit: LengthUnit | None = None
    object_label: str | None = None
    zone: str | None = None
    target: TargetName | None = None
    axis: AlignAxis | None = None
    edges: tuple[Edge, ...] | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"expected_version"})


class RuleVersionOut(BaseModel):
    version: int
    action: str = Field(description="create, update, enable, disable or restore.")
    created_at: str
    restored_from: int | None = None
    rule: Rule


class RestoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"version": 1}]})
    version: int = Field(ge=1, description="The version whose content becomes the newest.")


class ParseRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "Keep mugs at least 10 cm from the laptop"}]},
    )
    text: str = Field(min_length=1, max_length=1000)
    rule_id: str | None = Field(default=None, description="Id for the draft (default: derived).")


class ParsedRuleOut(BaseModel):
    """One draft rule and how it was read."""

    rule: Rule
    interpretation: str = Field(description="The rule in words, to check against what you meant.")
    confidence: float
    unused_words: list[str]
    assumptions: list[str]


class ParseResponse(BaseModel):
    """Drafts, one per rule the sentence holds ("... from the edge and never on the keyboard"
    is two): nothing is stored until they are POSTed to /v1/rules."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "Keep mugs at least 10 cm from the laptop",
                    "rules": [
                        {
                            "rule": {
                                **_RULE_EXAMPLE,
                                "text": "Keep mugs at least 10 cm from the laptop",
                            },
                            "interpretation": "Each mug should stay at least 10 cm (100 mm) from "
                            "every laptop (box-to-box distance) [warning].",
                            "confidence": 0.85,
                            "unused_words": [],
                            "assumptions": [
                                "no strength word (must/should/could): severity 'warning'"
                            ],
                        }
                    ],
                }
            ]
        }
    )

    text: str
    rules: list[ParsedRuleOut] = Field(min_length=1, description="In the sentence's order.")


class EvaluateRequest(BaseModel):
    """Rules against detections you already have (no image, no model)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "image_width": 640,
                    "image_height": 480,
                    "detections": [
                        {
                            "label": "mug",
                            "raw_label": "Mug",
                            "score": 0.9,
                            "box": {"x1": 100, "y1": 200, "x2": 160, "y2": 270},
                        },
                        {
                            "label": "laptop",
                            "raw_label": "Laptop",
                            "score": 0.8,
                            "box": {"x1": 180, "y1": 120, "x2": 520, "y2": 400},
                        },
                    ],
                    "rules": [{**_RULE_EXAMPLE, "value": 5, "unit": "%"}],
                }
            ]
        },
    )

    image_width: float = Field(gt=0)
    image_height: float = Field(gt=0)
    # Sized to what the planner's work budget finishes (500 x 99 answers well inside the
    # request timeout, tested): past these the request is refused before any work.
    detections: list[Detection] = Field(max_length=MAX_DETECTIONS)
    rules: list[Rule] | None = Field(default=None, max_length=MAX_RULES)
    rule_ids: list[str] | None = Field(default=None, max_length=MAX_RULES)
    target: Target = Field(default_factory=Target)
    scale: Scale | None = None
    grid: Grid = Field(default_factory=Grid)
    safety: Safety = Field(
        default_factory=Safety, description="Implicit hard constraints (relax explicitly)."
    )

    _inline_ids = field_validator("rules", mode="before")(name_inline_rules)

    @model_validator(mode="after")
    def _one_rule_source(self) -> EvaluateRequest:
        if self.rules is not None and self.rule_ids is not None:
            raise ValueError("give rules or rule_ids, not both")
        return self


class EvaluateResponse(BaseModel):
    rules_hash: str
    rule_results: list[RuleResult]
    suggestions: list[Suggestion]
    mug_scores: list[float]
    scene_score: float | None = Field(description="Null when no mug was found (not scored).")
    score_reason: str | None = Field(default=None, description="'no mug found: not scored'.")
    partial: bool = Field(
        default=False,
        description="The move planner's work budget ran out: suggestions are the best so far.",
    )
    notes: list[str]
