"""Per-principal rate limits: a fixed one-minute window in Redis, per process when Redis is
down or slow.

The key is the caller (the token's subject, so one principal's many tokens share one budget;
the client address without auth), and the count is the work asked for: a request counts one,
a batch of 16 images counts 16. Redis keeps one counter per key and window (``INCRBY`` and
``PEXPIRE`` in one Lua call, so a counter can never be left without an expiry), awaited on the
event loop. While the breaker in :class:`~mugpos_serving.redislink.AsyncRedisLink` is open the
same limit is enforced per process instead: with N server processes a client may then get up
to N times the limit, which is the price of not failing requests while Redis is away.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from mugpos_serving.redislink import AsyncRedisLink

WINDOW_S = 60
_SCRIPT = """
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if n == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int
    backend: str  # "redis", "local" or "off"

    def headers(self) -> dict[str, str]:
        if self.backend == "off":
            return {}
        out = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining)}
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after_s)
        return out


class LocalWindow:
    """Fixed windows in this process; old windows are swept as new ones start."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._window = -1
        self._lock = threading.Lock()

    def hit(self, key: str, now: float, cost: int = 1) -> tuple[int, float]:
        window = int(now // WINDOW_S)
        with self._lock:
            if window != self._window:
                self._counts.clear()
                self._window = window
            n = self._counts[key] = self._counts.get(key, 0) + cost
        return n, (window + 1) * WINDOW_S - now


class RateLimiter:
    def __init__(
        self, per_minute: int, link: AsyncRedisLink | None = None, *, prefix: str = "mugpos:rl:"
    ) -> None:
        self.per_minute = per_minute
        self.prefix = prefix
        self.link = link
        self.local = LocalWindow()
        self._script = link.client.register_script(_SCRIPT) if link is not None else None

    @property
    def backend(self) -> str:
        if self.per_minute == 0:
            return "off"
        if self.link is not None and self.link.up:
            return "redis"
        return "local"

    async def hit(self, key: str, cost: int = 1) -> Decision:
        """Count ``cost`` units of work for ``key`` and say whether they may proceed."""
        if self.per_minute == 0:
            return Decision(True, 0, 0, 0, "off")
        now = time.time()
        backend = "local"
        counted: tuple[int, float] | None = None
        if self._script is not None and self.link is not None:
            window = int(now // WINDOW_S)
            script = self._script
            reply = await self.link.call(
                lambda c: script(
                    keys=[f"{self.prefix}{key}:{window}"],
                    args=[WINDOW_S * 1000 + 1000, cost],
                    client=c,
                ),
                None,
            )
            if reply is not None:
                counted, backend = (int(reply), (window + 1) * WINDOW_S - now), "redis"
        if counted is None:
            counted = self.local.hit(key, now, cost)
        n, reset_s = counted
        return Decision(
            allowed=n <= self.per_minute,
            limit=self.per_minute,
            remaining=max(0, self.per_minute - n),
            retry_after_s=max(1, math.ceil(reset_s)),
            backend=backend,
        )
