"""Stored rules for position requests, with a one-second memory of the enabled set.

Every position request without explicit rules checks the enabled stored rules. Reading them
from the document store each time would add a thread hop and a query to the hot path, so the
enabled set is kept for ``TTL_S``: writes through this process invalidate it at once, writes
from elsewhere (the CLI, another server process) show within a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from mugpos.rules.repository import RuleRepository
from mugpos.rules.schema import Rule

TTL_S = 1.0


class StoredRules:
    def __init__(self, repository: RuleRepository) -> None:
        self.repository = repository
        self._enabled: tuple[float, tuple[Rule, ...]] | None = None
        self._lock = threading.Lock()

    def fresh_enabled(self) -> tuple[Rule, ...] | None:
        """The enabled rules if known from the last ``TTL_S`` seconds (no I/O)."""
        cached = self._enabled
        if cached is not None and time.monotonic() - cached[0] < TTL_S:
            return cached[1]
        return None

    def load_enabled(self) -> tuple[Rule, ...]:
        rules = tuple(self.repository.list(enabled=True))
        with self._lock:
            self._enabled = (time.monotonic(), rules)
        return rules

    def by_ids(self, rule_ids: Sequence[str]) -> tuple[Rule, ...]:
        """Raises ``RuleNotFoundError`` (404) for the first unknown id."""
        return tuple(self.repository.get(rule_id) for rule_id in rule_ids)

    def invalidate(self) -> None:
        with self._lock:
            self._enabled = None
