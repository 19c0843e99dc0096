"""Redis for the API: the asyncio client behind a breaker that opens on failures and on slowness.

Every Redis call of a request (the rate limiter's count, the cache lookup and store) is awaited
on the event loop, so a slow Redis never blocks it: other requests, ``/healthz`` included, keep
being served while one waits. The breaker decides whether to call at all:

* a failure (refused, reset, timeout after ``MUGPOS_REDIS_TIMEOUT_S``) opens it at once;
* a call slower than ``MUGPOS_REDIS_SLOW_MS`` is a strike, ``SLOW_STRIKES`` in a row open it:
  a Redis answering in 80 ms is not down, but waiting for it costs every request more than
  the cache saves;
* while open, calls return their default at once (a cache miss, the per-process rate limit),
  for an exponential backoff; then one call probes, and a fast success closes it.

So an outage or a slow Redis costs a few calls per backoff window, not one per request, and
recovery needs no restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)
T = TypeVar("T")
SLOW_STRIKES = 3
_FAILURES = (redis.RedisError, OSError, asyncio.TimeoutError)


class AsyncRedisLink:
    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 0.1,
        slow_s: float = 0.025,
        backoff_min_s: float = 0.25,
        backoff_max_s: float = 5.0,
    ) -> None:
        self.client = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),  # the breaker decides when to try again
            health_check_interval=0,
        )
        kwargs = self.client.connection_pool.connection_kwargs
        self.location = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"  # never the URL
        self.timeout_s = timeout_s
        self.slow_s = slow_s
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self._trips = 0  # consecutive openings (the backoff grows with them)
        self._open_until = 0.0
        self._state = "up"  # up | down | slow
        self._last_problem: str | None = None
        self._strikes = 0
        self._probing = False
        self.last_ms: float | None = None

    @property
    def up(self) -> bool:
        return self._state == "up"

    @property
    def state(self) -> str:
        return self._state

    async def call(self, fn: Callable[[aioredis.Redis], Awaitable[T]], default: T) -> T:
        """``await fn(client)``, or ``default`` at once while the breaker is open."""
        if self._state != "up":
            if time.monotonic() < self._open_until or self._probing:
                return default
            self._probing = True  # one probe at a time (one event loop: no lock needed)
            try:
                return await self._attempt(fn, default)
            finally:
                self._probing = False
        return await self._attempt(fn, default)

    async def _attempt(self, fn: Callable[[aioredis.Redis], Awaitable[T]], default: T) -> T:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout_s * 2):  # connect + reply at most
                result = await fn(self.client)
        except _FAILURES as exc:
            self._open("down", f"{type(exc).__name__}: {exc}")
            return default
        elapsed = time.monotonic() - started
        self.last_ms = round(elapsed * 1e3, 3)
        if elapsed > self.slow_s:
            self._strikes += 1
            if self._state != "up" or self._strikes >= SLOW_STRIKES:
                self._open(
                    "slow", f"calls take {elapsed * 1e3:.0f} ms (limit {self.slow_s * 1e3:g})"
                )
        else:
            self._strikes = 0
            if self._state != "up":
                self._close()
        return result

    def _open(self, state: str, problem: str) -> None:
        first = self._state == "up"
        self._trips += 1
        delay = min(self.backoff_max_s, self.backoff_min_s * 2 ** (self._trips - 1))
        self._open_until = time.monotonic() + delay
        self._state, self._last_problem, self._strikes = state, problem, 0
        if first:
            log.warning("redis at %s %s (%s): continuing without it", self.location, state, problem)

    def _close(self) -> None:
        self._trips, self._open_until, self._state, self._last_problem = 0, 0.0, "up", None
        log.warning("redis at %s is answering again", self.location)

    async def ping(self) -> bool:
        """True when Redis answers now (at most one probe per backoff window)."""
        return bool(await self.call(lambda c: c.ping(), False))

    def describe(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "state": self._state,
            "up": self.up,
            "consecutive_trips": self._trips,
            "last_ms": self.last_ms,
            "slow_ms": self.slow_s * 1e3,
            "problem": self._last_problem,
        }

    async def close(self) -> None:
        await self.client.aclose()
