"""The API's result cache, awaited on the event loop: Redis (async, behind the breaker) or the
engine's in-process cache (memory operations, no I/O, so calling them on the loop is fine).

Like the engine's caches, these never raise: a failure reads as a miss, a failed store is
dropped, and :meth:`ServingCache.healthy` says what happened.
"""

from __future__ import annotations

from typing import Any

from mugpos.cache import Cache, NullCache
from mugpos_serving.redislink import AsyncRedisLink


class ServingCache:
    backend = "abstract"
    enabled = True

    async def get(self, key: str) -> bytes | None:
        raise NotImplementedError

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        raise NotImplementedError

    def healthy(self) -> bool:
        return True

    async def check(self) -> bool:
        return self.healthy()

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "healthy": self.healthy()}

    async def close(self) -> None:
        return None


class LocalCache(ServingCache):
    """An engine cache held in this process (``MemoryCache``, or ``NullCache``: caching off)."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.backend = cache.backend
        self.enabled = not isinstance(cache, NullCache)

    async def get(self, key: str) -> bytes | None:
        return self.cache.get(key)

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        self.cache.set(key, value, ttl_s)

    def describe(self) -> dict[str, Any]:
        return self.cache.describe()

    async def close(self) -> None:
        self.cache.close()


class RedisServingCache(ServingCache):
    """Values under ``<prefix><key>`` with ``SET ... PX``."""

    backend = "redis"

    def __init__(self, link: AsyncRedisLink, *, prefix: str) -> None:
        self.link = link
        self.prefix = prefix

    async def get(self, key: str) -> bytes | None:
        value = await self.link.call(lambda c: c.get(self.prefix + key), None)
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        ms = max(1, int(ttl_s * 1000))
        await self.link.call(lambda c: c.set(self.prefix + key, value, px=ms), None)

    def healthy(self) -> bool:
        return self.link.up

    async def check(self) -> bool:
        return await self.link.ping()

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "healthy": self.healthy(), **self.link.describe()}
