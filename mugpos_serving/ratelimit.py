"""Per-principal rate limits: a sliding one-minute window in Redis, exact across server
processes; per process when Redis is down or slow.

The key is the caller (the token's subject, so one principal's many tokens share one budget;
the client address without auth), and the count is the work asked for: a request counts one,
a batch of 16 images counts 16. A request is admitted when the work admitted for its key in
the last 60 seconds, plus its own, stays within the limit.

In Redis each key has a log of its admitted requests (a sorted set scored by time, each member
carrying its cost) and a running total beside it. One Lua script, so one round trip awaited
on the event loop, does the whole decision atomically: it drops the entries that left the
window (subtracting their costs), admits and logs the request or refuses it, and on a refusal
works out when enough cost leaves the window for it to pass (``Retry-After``). Redis runs one
script at a time, so however many server processes (or machines) share the Redis, no two
decisions interleave and the limit holds exactly: N units admitted, the next refused. Time is
the Redis server's clock (``TIME``), so the processes' clocks need not agree. Refused requests
are not logged: a client that keeps knocking is let in again as soon as its old requests age
out. A key holds at most ``limit`` entries (each costs at least one), and both keys expire one
window after its last admission. If the total is ever lost (an evicting Redis) the script sums
the log again.

While the breaker in :class:`~mugpos_serving.redislink.AsyncRedisLink` is open the same limit
is enforced per process (a fixed one-minute window, no Redis): with N server processes a
client may then get up to N times the limit, which is the price of not failing requests while
Redis is away.
"""

from __future__ import annotations

import itertools
import math
import os
import secrets
import threading
import time
from dataclasses import dataclass

from mugpos_serving.redislink import AsyncRedisLink

WINDOW_S = 60
# KEYS[1] the log (member "<id>:<cost>", score: admission time in µs), KEYS[2] its total.
# ARGV: window µs, limit, cost, a unique id. Returns {allowed 0|1, total, retry-after µs}.
_SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end -- TIME before writes (< 5)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window, limit, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cutoff = now - window
local function cost_of(member) return tonumber(string.match(member, ':(%d+)$')) end
local total = tonumber(redis.call('GET', KEYS[2]))
if total == nil then
  total = 0
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. cutoff, '+inf')) do
    total = total + cost_of(m)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
else
  local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff)
  if #gone > 0 then
    for _, m in ipairs(gone) do total = total - cost_of(m) end
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
  end
end
if total + cost <= limit then
  total = total + cost
  redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. cost)
  local ttl = math.floor(window / 1000) + 1000
  redis.call('SET', KEYS[2], total, 'PX', ttl)
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {1, total, 0}
end
if cost > limit then return {0, total, window} end
local need, freed, offset = total + cost - limit, 0, 0
while true do
  local page = redis.call('ZRANGE', KEYS[1], offset, offset + 63, 'WITHSCORES')
  if #page == 0 then return {0, total, window} end
  for i = 1, #page, 2 do
    freed = freed + cost_of(page[i])
    if freed >= need then return {0, total, tonumber(page[i + 1]) + window - now} end
  end
  offset = offset + 64
end
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
    """Fixed windows in this process (the fallback); old windows are swept as new ones start."""

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
    ) -> None:
        self.per_minute = per_minute
        self.prefix = prefix
        self.link = link
        self.local = LocalWindow()
        self._script = link.client.register_script(_SCRIPT) if link is not None else None
        # Log members must be unique across processes and machines: random per process.
        self._origin = f"{os.getpid()}.{secrets.token_hex(4)}"
        self._seq = itertools.count()

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
        if self.backend == "redis":
            reply = await self._redis_hit(key, cost)
            if reply is not None:
                allowed, total, retry_us = reply
                return Decision(
                    allowed=allowed,
                    limit=self.per_minute,
                    remaining=max(0, self.per_minute - total),
                    retry_after_s=max(1, math.ceil(retry_us / 1e6)),
                    backend="redis",
                )
        n, reset_s = self.local.hit(key, time.time(), cost)
        return Decision(
            allowed=n <= self.per_minute,
            limit=self.per_minute,
            remaining=max(0, self.per_minute - n),
            retry_after_s=max(1, math.ceil(reset_s)),
            backend="local",
        )

    async def _redis_hit(self, key: str, cost: int) -> tuple[bool, int, int] | None:
        """The script's decision (one round trip), or None when Redis is away."""
        script = self._script
        assert script is not None and self.link is not None
        # One hash tag: both keys land on one slot in a Redis Cluster (a script needs that).
        base = f"{self.prefix}{{{key}}}"
        member = f"{self._origin}.{next(self._seq)}"
        args = [WINDOW_S * 1_000_000, self.per_minute, cost, member]

        async def run(client):  # type: ignore[no-untyped-def]
            return await script(keys=[f"{base}:log", f"{base}:n"], args=args, client=client)

        reply = await self.link.call(run, None)
        if reply is None:
            return None
        return bool(int(reply[0])), int(reply[1]), int(reply[2])

    async def close(self) -> None:
        """Nothing is held back any more (every decision is made in Redis at once)."""
