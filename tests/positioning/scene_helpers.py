"""Shared builders for positioning tests (a uniquely named module: test dirs are not packages)."""

from __future__ import annotations

from typing import Any

from mugpos.detections import Box, Detection
from mugpos.rules.schema import Rule


def det(label: str, xyxy: tuple[float, float, float, float], score: float = 0.9) -> Detection:
    return Detection(label=label, raw_label=label, score=score, box=Box.from_xyxy(xyxy))


def rule(kind: str, rule_id: str | None = None, **fields: Any) -> Rule:
    """A rule with a readable id and name, e.g. ``rule("mug_spacing", value=5, unit="cm")``."""
    rid = rule_id or kind.replace("_", "-")
    return Rule(id=rid, name=rid, kind=kind, **fields)  # type: ignore[arg-type]
