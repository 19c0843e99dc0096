"""Redis behind a circuit breaker: a dead or slow Redis costs (almost) nothing per call.

Every call goes through :class:`RedisLink`, which uses short socket timeouts, no client-side
retries and, after a failure, an exponential backoff during which calls return their default at
once without touching the network. After the backoff one caller probes again; success closes
the breaker. So an outage costs one timeout per backoff window, not one per request, and
recovery needs no restart. The link is shared by the cache and the API's rate limiter, so both
see one health state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from mugpos.cache.base import Cache

log = logging.getLogger(__name__)
T = TypeVar("T")

# What a broken connection raises: the client's own errors plus socket-level ones.
_FAILURES = (redis.RedisError, OSError)


class RedisLink:
    """A Redis client plus the breaker state; thread-safe."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 0.1,
        backoff_min_s: float = 0.25,
        backoff_max_s: float = 5.0,
    ) -> None:
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),  # the breaker decides when to try again
            health_check_interval=0,
        )
        host = self.client.connection_pool.connection_kwargs.get("host", "?")
        port = self.client.connection_pool.connection_kwargs.get("port", "?")
        self.location = f"{host}:{port}"  # never the URL: it may hold a password
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self._failures = 0
        self._down_until = 0.0
        self._last_error: str | None = None
        self._probe = threading.Lock()
        self._state = threading.Lock()

    @property
    def up(self) -> bool:
        return self._failures == 0

    @property
    def last_error(self) -> str | None:
        return self._last_error

    def call(self, fn: Callable[[redis.Redis], T], default: T) -> T:
        """``fn(client)``, or ``default`` when Redis is down, in backoff or fails now."""
        if self._failures:
            if time.monotonic() < self._down_until:
                return default
            # Backoff over: exactly one caller probes; the others keep the fast path.
            if not self._probe.acquire(blocking=False):
                return default
            try:
                return self._attempt(fn, default)
            finally:
                self._probe.release()
        return self._attempt(fn, default)

    def _attempt(self, fn: Callable[[redis.Redis], T], default: T) -> T:
        try:
            result = fn(self.client)
        except _FAILURES as exc:
            self._trip(exc)
            return default
        if self._failures:
            self._recovered()
        return result

    def _trip(self, exc: BaseException) -> None:
        with self._state:
            self._failures += 1
            delay = min(self.backoff_max_s, self.backoff_min_s * 2 ** (self._failures - 1))
            self._down_until = time.monotonic() + delay
            self._last_error = f"{type(exc).__name__}: {exc}"
            first = self._failures == 1
        # Drop idle pooled sockets: after a restart they are all dead. Sockets other threads are
        # using now fail on their own.
        self.client.connection_pool.disconnect(inuse_connections=False)
        if first:
            log.warning("redis at %s unreachable (%s); continuing without it", self.location, exc)

    def _recovered(self) -> None:
        with self._state:
            self._failures = 0
            self._down_until = 0.0
            self._last_error = None
        log.warning("redis at %s is reachable again", self.location)

    def ping(self) -> bool:
        """True when Redis answers now; respects the backoff (never more than one probe)."""
        return bool(self.call(lambda c: c.ping(), False))

    def describe(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "up": self.up,
            "consecutive_failures": self._failures,
            "last_error": self._last_error,
        }

    def close(self) -> None:
        self.client.close()


class RedisCache(Cache):
    """Values under ``<prefix><key>`` with ``SET ... PX``; failures read as misses."""

    backend = "redis"

    def __init__(self, link: RedisLink, *, prefix: str = "mugpos:cache:") -> None:
        self.link = link
        self.prefix = prefix

    def get(self, key: str) -> bytes | None:
        value = self.link.call(lambda c: c.get(self.prefix + key), None)
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        ms = max(1, int(ttl_s * 1000))
        self.link.call(lambda c: c.set(self.prefix + key, value, px=ms), None)

    def healthy(self) -> bool:
        return self.link.up

    def check(self) -> bool:
        return self.link.ping()

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "healthy": self.healthy(), **self.link.describe()}

    def close(self) -> None:
        self.link.close()
