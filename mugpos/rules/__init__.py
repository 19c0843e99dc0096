"""Placement rules: one schema, a plain-language parser, evaluation and versioned storage.

Names are imported lazily (evaluation depends on positioning, which depends on the schema).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Rule": "mugpos.rules.schema",
    "RuleSet": "mugpos.rules.schema",
    "rules_hash": "mugpos.rules.schema",
    "RuleResult": "mugpos.rules.results",
    "evaluate_rules": "mugpos.rules.evaluate",
    "parse_rule": "mugpos.rules.parser",
    "parse_rules": "mugpos.rules.parser",
    "parse_reference": "mugpos.rules.parser",
    "ParsedRule": "mugpos.rules.parser",
    "describe_rule": "mugpos.rules.describe",
    "RuleRepository": "mugpos.rules.repository",
    "RuleParseError": "mugpos.rules.errors",
    "RuleNotFoundError": "mugpos.rules.errors",
    "RuleConflictError": "mugpos.rules.errors",
    "RuleImportError": "mugpos.rules.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
