"""When to try a failed delivery again: exponential backoff with full jitter, then dead letter.

``delay(streak) = uniform(0.5, 1) * min(max_s, base_s * 2 ** (streak - 1))`` after the
``streak``-th failure in a row of a subscription's endpoint. Half-to-full jitter spreads the
retries of many subscriptions that failed together (one receiver down for everyone) without
ever retrying sooner than half the nominal delay. The streak is the endpoint's, not the event's:
a receiver that is down keeps backing off across events instead of being hammered again by each
new one. An event is dead-lettered after ``max_attempts`` tries.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_s: float = 2.0
    max_s: float = 600.0
    rng: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def delay(self, streak: int) -> float:
        nominal = min(self.max_s, self.base_s * 2 ** max(0, streak - 1))
        return nominal * (0.5 + 0.5 * self.rng())

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
