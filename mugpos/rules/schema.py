"""The one rule schema: every rule, whether typed in JSON or parsed from a sentence, is a ``Rule``.

A rule is flat (one model, a ``kind`` and the fields that kind uses) rather than a union of
models, so storage, diffs and the API see one shape. The validator rejects fields a kind does
not use: a rule that silently ignores part of what the user said would check less than they
think.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mugpos.labels import CONTEXT_LABELS, MUG, canonical_label
from mugpos.units import LengthUnit

Severity = Literal["info", "warning", "critical"]
Comparator = Literal["at_least", "at_most"]
RuleKind = Literal[
    "edge_clearance",
    "object_clearance",
    "mug_spacing",
    "in_zone",
    "not_in_zone",
    "near_target",
    "alignment",
    "not_on_object",
]
TargetName = Literal["work_area_center", "image_center", "thirds", "user"]
AlignAxis = Literal["row", "column", "cluster"]
Edge = Literal["left", "right", "top", "bottom"]

ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
RESERVED_ID_PREFIX = "builtin."  # the engine's implicit rules (e.g. builtin.work-area)
# Objects a rule may name: the context objects the detectors' labels map to. A rule about
# anything else could never be checked, so it is refused up front (with this list).
KNOWN_OBJECTS: tuple[str, ...] = tuple(sorted(CONTEXT_LABELS))
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}

# Which optional fields each kind uses; the rest must stay unset.
_DISTANCE_KINDS = {"edge_clearance", "object_clearance", "mug_spacing", "near_target", "alignment"}
_USES: dict[str, frozenset[str]] = {
    "edge_clearance": frozenset({"comparator", "value", "unit", "edges"}),
    "object_clearance": frozenset({"comparator", "value", "unit", "object_label"}),
    "mug_spacing": frozenset({"comparator", "value", "unit"}),
    "in_zone": frozenset({"zone"}),
    "not_in_zone": frozenset({"zone"}),
    "near_target": frozenset({"comparator", "value", "unit", "target"}),
    "alignment": frozenset({"comparator", "value", "unit", "axis"}),
    "not_on_object": frozenset({"object_label"}),
}
_OPTIONAL = ("comparator", "value", "unit", "object_label", "zone", "target", "axis", "edges")
SEMANTIC_FIELDS = ("subject", "kind", "severity", *_OPTIONAL)


def new_rule_id() -> str:
    return f"rule-{uuid.uuid4().hex[:12]}"


class Rule(BaseModel):
    """A placement rule for mugs, with its value in the unit the user wrote."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=new_rule_id, pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    text: str | None = Field(default=None, max_length=1000, description="Original sentence.")
    version: int = Field(default=1, ge=1)
    enabled: bool = True
    severity: Severity = "warning"
    subject: Literal["mug"] = MUG
    kind: RuleKind
    comparator: Comparator | None = None
    value: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    unit: LengthUnit | None = None
    object_label: str | None = Field(default=None, min_length=1, max_length=64)
    zone: str | None = Field(default=None, min_length=1, max_length=64)
    target: TargetName | None = None
    axis: AlignAxis | None = None
    edges: tuple[Edge, ...] | None = None

    @field_validator("object_label")
    @classmethod
    def _canonical(cls, v: str | None) -> str | None:
        if v is None:
            return None
        label = canonical_label(v)
        if label != MUG and label not in KNOWN_OBJECTS:
            raise ValueError(
                f"unknown object label {v!r}: known labels are {', '.join(KNOWN_OBJECTS)}"
            )
        return label

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v.startswith(RESERVED_ID_PREFIX):
            raise ValueError(f"ids starting with {RESERVED_ID_PREFIX!r} are reserved")
        return v

    @field_validator("edges")
    @classmethod
    def _edges(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is None:
            return None
        if not v:
            raise ValueError("edges must name at least one edge (or be omitted for all four)")
        order = ("left", "right", "top", "bottom")
        return tuple(e for e in order if e in set(v))

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("comparator") is None:
            kind = data.get("kind")
            if kind in {"edge_clearance", "object_clearance", "mug_spacing"}:
                data = {**data, "comparator": "at_least"}
            elif kind in {"near_target", "alignment"}:
                data = {**data, "comparator": "at_most"}
        if isinstance(data, dict) and data.get("kind") == "near_target" and not data.get("target"):
            data = {**data, "target": "work_area_center"}
        return data

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Rule:
        uses = _USES[self.kind]
        extra = [f for f in _OPTIONAL if f not in uses and getattr(self, f) is not None]
        if extra:
            raise ValueError(f"{self.kind} rules do not use {', '.join(extra)}")
        if self.kind in _DISTANCE_KINDS and (self.value is None or self.unit is None):
            raise ValueError(f"{self.kind} rules need a value and a unit")
        if "object_label" in uses and not self.object_label:
            raise ValueError(f"{self.kind} rules need an object_label")
        if self.object_label == MUG:
            raise ValueError("use kind 'mug_spacing' for distances between mugs")
        if "zone" in uses and not self.zone:
            raise ValueError(f"{self.kind} rules need a zone")
        if self.kind == "alignment" and (self.axis is None or self.comparator != "at_most"):
            raise ValueError("alignment rules need an axis and the comparator 'at_most'")
        return self

    def semantic(self) -> dict[str, Any]:
        """The fields that decide what the rule checks (not its id, name, text or version)."""
        return {f: getattr(self, f) for f in SEMANTIC_FIELDS}


class RuleSet(BaseModel):
    """An ordered list of rules with unique ids; only enabled rules are evaluated."""

    model_config = ConfigDict(frozen=True)

    rules: tuple[Rule, ...] = ()

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
        ids = [r.id for r in rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate rule ids: {', '.join(dupes)}")
        return rules

    @property
    def enabled(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.enabled)

    @property
    def content_hash(self) -> str:
        return rules_hash(self.rules)


def rules_hash(rules: tuple[Rule, ...] | list[Rule]) -> str:
    """sha256 of the canonical JSON of the enabled rules' semantic fields, order-independent.

    Two rule sets that check the same things hash the same, so results can be cached by it.
    """
    items = sorted(
        json.dumps(r.semantic(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        for r in rules
        if r.enabled
    )
    return hashlib.sha256(("[" + ",".join(items) + "]").encode()).hexdigest()
