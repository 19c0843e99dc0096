"""Rules tests: a parse helper that returns only the rule's semantic fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mugpos.rules.parser import parse_rule


@pytest.fixture()
def semantics() -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        return {k: v for k, v in parse_rule(text).rule.semantic().items() if v is not None}

    return parse
