"""Result cache: one interface, Redis in production, an in-process TTL LRU embedded."""

from __future__ import annotations

from mugpos.cache.base import Cache, NullCache
from mugpos.cache.memory import MemoryCache

__all__ = ["Cache", "MemoryCache", "NullCache", "open_cache"]

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def open_cache(url: str | None, *, timeout_s: float = 0.1, prefix: str = "mugpos:cache:") -> Cache:
    """``None`` or ``memory://`` → in-process; ``redis://``, ``rediss://``, ``unix://`` → Redis
    (with a breaker, see :mod:`mugpos.cache.redis`); ``none://`` → caching off."""
    if url is None or url == "memory://":
        return MemoryCache()
    if url == "none://":
        return NullCache()
    if url.startswith(_REDIS_SCHEMES):
        from mugpos.cache.redis import RedisCache, RedisLink

        return RedisCache(RedisLink(url, timeout_s=timeout_s), prefix=prefix)
    scheme = url.split("://", 1)[0] if "://" in url else url
    raise ValueError(f"unsupported cache URL scheme {scheme!r}: use redis://, memory:// or none://")
