"""Redis for the API: the asyncio client behind a breaker that opens on failures and on slowness.

Every Redis call of a request (the rate limiter's count, the cache lookup and store) is awaited
on the event loop, so a slow Redis never blocks it: other requests, ``/healthz`` included, keep
being served while one waits. The breaker decides whether to call at all:

* a failed call (refused, reset, no answer) opens it at once. The probe's pings time out after
  ``MUGPOS_REDIS_TIMEOUT_S``; a request's own calls only after ten times that (one second at
  least), because asyncio timeouts run on the loop's clock and a busy loop would otherwise
  turn its own delay into Redis "timeouts";
* slowness is judged by a probe thread that pings Redis every ``PROBE_INTERVAL_S`` with its own
  blocking client: ``SLOW_STRIKES`` pings in a row slower than ``MUGPOS_REDIS_SLOW_MS`` open it
  (a Redis answering in 80 ms is not down, but waiting for it costs every request more than
  the cache saves). Requests' own call times are not used for this: on a busy event loop they
  include the wait for the loop, which is no fault of Redis, and would open the breaker
  exactly when the cache is most needed;
* while open, calls return their default at once (a cache miss, the per-process rate limit);
  the probe closes it again on its first fast answer.

So an outage or a slow Redis costs a few calls at most, not one per request, and recovery needs
neither a restart nor a request.
"""

from __future__ import annotations

import asyncio
import logging
import threading
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
PROBE_INTERVAL_S = 0.25
_FAILURES = (redis.RedisError, OSError, asyncio.TimeoutError)


class AsyncRedisLink:
    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 0.1,
        slow_s: float = 0.025,
        probe_interval_s: float = PROBE_INTERVAL_S,
    ) -> None:
        options: dict[str, Any] = {
            "retry": Retry(NoBackoff(), 0),  # the breaker decides when to try again
            "health_check_interval": 0,
        }
        loop_timeout_s = max(1.0, 10 * timeout_s)
        self.client = aioredis.Redis.from_url(
            url, socket_timeout=loop_timeout_s, socket_connect_timeout=loop_timeout_s, **options
        )
        self._probe_client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, **options
        )
        self._loop_timeout_s = loop_timeout_s
        kwargs = self.client.connection_pool.connection_kwargs
        self.location = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"  # never the URL
        self.timeout_s = timeout_s
        self.slow_s = slow_s
        self.probe_interval_s = probe_interval_s
        self._state = "up"  # up | down | slow
        self._problem: str | None = None
        self._strikes = 0
        self.last_ms: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._probe_loop, name="mugpos-redis-probe", daemon=True
        )
        self._thread.start()

    @property
    def up(self) -> bool:
        return self._state == "up"

    @property
    def state(self) -> str:
        return self._state

    async def call(self, fn: Callable[[aioredis.Redis], Awaitable[T]], default: T) -> T:
        """``await fn(client)``, or ``default`` at once while the breaker is open."""
        if self._state != "up":
            return default
        try:
            async with asyncio.timeout(2 * self._loop_timeout_s):  # connect + reply at most
                return await fn(self.client)
        except _FAILURES as exc:
            self._open("down", f"{type(exc).__name__}: {exc}")
            return default

    # -- the probe (its own thread and blocking client) ---------------------------------------

    def probe(self) -> None:
        """One ping: judge the latency, open or close the breaker."""
        started = time.monotonic()
        try:
            self._probe_client.ping()
        except (redis.RedisError, OSError) as exc:
            self._open("down", f"{type(exc).__name__}: {exc}")
            self._probe_client.connection_pool.disconnect()
            return
        elapsed = time.monotonic() - started
        self.last_ms = round(elapsed * 1e3, 3)
        if elapsed > self.slow_s:
            self._strikes += 1
            if self._strikes >= SLOW_STRIKES:
                self._open(
                    "slow", f"pings take {elapsed * 1e3:.0f} ms (limit {self.slow_s * 1e3:g})"
                )
        else:
            self._strikes = 0
            if self._state != "up":
                self._close()

    def _probe_loop(self) -> None:
        while not self._stop.wait(self.probe_interval_s):
            try:
                self.probe()
            except Exception:  # never let the probe die: it is what closes the breaker
                log.exception("redis probe failed")

    def _open(self, state: str, problem: str) -> None:
        if self._state == "up":
            log.warning("redis at %s %s (%s): continuing without it", self.location, state, problem)
        self._state, self._problem = state, problem

    def _close(self) -> None:
        self._state, self._problem = "up", None
        log.warning("redis at %s is answering again", self.location)

    async def ping(self) -> bool:
        """True when Redis answers now through the request path (never while open)."""
        return bool(await self.call(lambda c: c.ping(), False))

    def describe(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "state": self._state,
            "up": self.up,
            "last_ping_ms": self.last_ms,
            "slow_ms": self.slow_s * 1e3,
            "problem": self._problem,
        }

    async def close(self) -> None:
        self._stop.set()
        await asyncio.to_thread(self._thread.join, 5)
        self._probe_client.close()
        await self.client.aclose()
