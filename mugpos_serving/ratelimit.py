"""Per-principal rate limits: a fixed one-minute window in Redis, per process when Redis is
down or slow.

The key is the caller (the token's subject, so one principal's many tokens share one budget;
the client address without auth), and the count is the work asked for: a request counts one,
a batch of 16 images counts 16. Redis keeps one counter per key and window (``INCRBY`` and
``PEXPIRE`` in one Lua call, so a counter can never be left without an expiry), awaited on the
event loop. To keep a Redis round trip off every request, only a key's first request in each
window is counted in Redis at once; later ones are counted here and sent in one pipelined
batch every ``FLUSH_S``, and each decision adds this process's unsent count to the window's
total as Redis last reported it (other processes' counts included). Several server processes
may so overshoot a limit by what they admit in one flush interval. While the breaker in
:class:`~mugpos_serving.redislink.AsyncRedisLink` is open the same limit is enforced per
process instead: with N server processes a client may then get up to N times the limit, which
is the price of not failing requests while Redis is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from dataclasses import dataclass

from mugpos_serving.redislink import AsyncRedisLink

WINDOW_S = 60
FLUSH_S = 0.1
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
        self,
        per_minute: int,
        link: AsyncRedisLink | None = None,
        *,
        prefix: str = "mugpos:rl:",
        flush_s: float = FLUSH_S,
    ) -> None:
        self.per_minute = per_minute
        self.prefix = prefix
        self.link = link
        self.flush_s = flush_s
        self.local = LocalWindow()
        self._script = link.client.register_script(_SCRIPT) if link is not None else None
        self._known: dict[str, tuple[int, int]] = {}  # key -> (window, total in Redis)
        self._unsent: dict[str, tuple[int, int]] = {}  # key -> (window, counted here only)
        self._sending: dict[str, tuple[int, int]] = {}  # a flush on its way to Redis
        self._flusher: asyncio.Task[None] | None = None

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
        window = int(now // WINDOW_S)
        counted = await self._redis_count(key, window, cost) if self.backend == "redis" else None
        backend = "redis" if counted is not None else "local"
        if counted is None:
            n, reset_s = self.local.hit(key, now, cost)
        else:
            n, reset_s = counted, (window + 1) * WINDOW_S - now
        return Decision(
            allowed=n <= self.per_minute,
            limit=self.per_minute,
            remaining=max(0, self.per_minute - n),
            retry_after_s=max(1, math.ceil(reset_s)),
            backend=backend,
        )

    async def _redis_count(self, key: str, window: int, cost: int) -> int | None:
        """The window's count for ``key`` including this hit, or None when Redis is away."""
        known = self._known.get(key)
        if known is None or known[0] != window:
            total = await self._incr({key: (window, cost)})
            if total is None:
                return None
            return total[key]
        unsent = self._unsent.get(key)
        pending = (unsent[1] if unsent is not None and unsent[0] == window else 0) + cost
        self._unsent[key] = (window, pending)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_soon())
        sending = self._sending.get(key)
        in_flight = sending[1] if sending is not None and sending[0] == window else 0
        return known[1] + in_flight + pending

    async def _incr(self, counts: dict[str, tuple[int, int]]) -> dict[str, int] | None:
        """Add the counts in Redis (one pipelined round trip); remember the totals."""
        script = self._script
        assert script is not None and self.link is not None
        items = list(counts.items())

        async def send(client) -> list:  # type: ignore[no-untyped-def]
            pipe = client.pipeline(transaction=False)
            for key, (window, n) in items:
                await script(
                    keys=[f"{self.prefix}{key}:{window}"],
                    args=[WINDOW_S * 1000 + 1000, n],
                    client=pipe,
                )
            return await pipe.execute()  # type: ignore[no-any-return]

        replies = await self.link.call(send, None)
        if replies is None:
            return None
        totals = {}
        for (key, (window, _)), reply in zip(items, replies, strict=True):
            totals[key] = int(reply)
            self._known[key] = (window, int(reply))
        return totals

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.flush_s)
        unsent, self._unsent = self._unsent, {}
        current = int(time.time() // WINDOW_S)
        for key in [k for k, (w, _) in self._known.items() if w < current - 1]:
            del self._known[key]  # keys of finished windows
        if unsent:
            self._sending = unsent
            try:
                await self._incr(unsent)
            finally:
                self._sending = {}

    async def close(self) -> None:
        """Send what is still unsent (best effort) and stop the flusher."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        if self._unsent and self.backend == "redis":
            unsent, self._unsent = self._unsent, {}
            await self._incr(unsent)
