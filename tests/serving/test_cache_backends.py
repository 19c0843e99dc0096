"""mugpos.cache: the in-process TTL LRU and Redis behind its breaker (a real redis-server)."""

from __future__ import annotations

import time

import pytest
from serving_helpers import RedisServer

from mugpos.cache import MemoryCache, NullCache, open_cache
from mugpos.cache.redis import RedisCache, RedisLink


def test_memory_cache_ttl_and_lru() -> None:
    cache = MemoryCache(max_items=2, max_bytes=10)
    cache.set("a", b"1", ttl_s=0.05)
    cache.set("b", b"2", ttl_s=60)
    assert cache.get("a") == b"1"
    time.sleep(0.06)
    assert cache.get("a") is None  # expired
    cache.set("c", b"3", ttl_s=60)
    cache.get("b")  # b is now the most recent
    cache.set("d", b"4", ttl_s=60)  # evicts c, the least recently used
    assert (cache.get("b"), cache.get("c"), cache.get("d")) == (b"2", None, b"4")
    cache.set("big", b"x" * 9, ttl_s=60)  # bytes bound: evicts until it fits
    assert cache.get("big") == b"x" * 9 and cache.get("b") is None and len(cache) == 2
    cache.set("huge", b"x" * 11, ttl_s=60)  # larger than the whole cache: not stored
    assert cache.get("huge") is None and cache.healthy()


def test_open_cache_by_url(own_redis: RedisServer) -> None:
    assert isinstance(open_cache(None), MemoryCache)
    assert isinstance(open_cache("none://"), NullCache)
    redis_cache = open_cache(own_redis.url)
    assert isinstance(redis_cache, RedisCache) and redis_cache.check()
    with pytest.raises(ValueError, match="unsupported cache URL"):
        open_cache("memcached://x")


def test_redis_cache_survives_an_outage(own_redis: RedisServer) -> None:
    link = RedisLink(own_redis.url, timeout_s=0.1, backoff_min_s=0.2, backoff_max_s=0.4)
    cache = RedisCache(link, prefix="t:")
    cache.set("k", b"v", ttl_s=60)
    assert cache.get("k") == b"v" and cache.healthy()
    cache.set("short", b"v", ttl_s=0.05)
    time.sleep(0.1)
    assert cache.get("short") is None  # Redis expired it

    own_redis.stop()
    assert cache.get("k") is None and not cache.healthy()
    t0 = time.perf_counter()
    for _ in range(200):  # in backoff: no network at all
        assert cache.get("k") is None
        cache.set("k", b"w", ttl_s=60)
    assert time.perf_counter() - t0 < 0.1
    assert "ConnectionError" in (link.last_error or "")

    RedisServer.start(own_redis)  # same port, empty
    time.sleep(0.5)  # past the backoff
    cache.set("k", b"again", ttl_s=60)
    assert cache.healthy() and cache.get("k") == b"again"
    assert link.describe()["consecutive_failures"] == 0


def test_a_busy_event_loop_does_not_open_the_breaker(own_redis: RedisServer) -> None:
    """A request's Redis call that waited for a busy loop is no sign of a slow Redis: only the
    probe's own pings judge latency, so the cache stays in use when it is needed most."""
    import asyncio
    import time

    from mugpos_serving.redislink import AsyncRedisLink

    async def scenario() -> list[object]:
        link = AsyncRedisLink(own_redis.url, slow_s=0.025, probe_interval_s=0.05)
        try:

            async def busy() -> None:
                time.sleep(0.2)  # the loop is busy with other requests' work

            out = await asyncio.gather(
                *(link.call(lambda c: c.ping(), False) for _ in range(5)), busy()
            )
            await asyncio.sleep(0.3)  # a few probes
            return [*out[:5], link.state]
        finally:
            await link.close()

    assert asyncio.run(scenario()) == [True] * 5 + ["up"]


def test_rate_limits_add_up_across_processes(own_redis: RedisServer) -> None:
    """Two server processes (two limiters with their own Redis connections): one sliding
    window per principal, exact whatever the interleaving; a batch costs its images; a refusal
    says when enough has aged out, and is itself not counted."""
    import asyncio

    from mugpos_serving.ratelimit import RateLimiter
    from mugpos_serving.redislink import AsyncRedisLink

    async def scenario() -> None:
        links = [AsyncRedisLink(own_redis.url) for _ in range(2)]
        a, b = (RateLimiter(10, link, prefix="rl-test:") for link in links)
        try:
            both = await asyncio.gather(*(x.hit("sub:alice") for _ in range(4) for x in (a, b)))
            assert [d.allowed for d in both] == [True] * 8
            assert sorted(d.remaining for d in both) == list(range(2, 10))
            assert all(d.backend == "redis" for d in both)
            batch = await a.hit("sub:alice", 3)  # 8 + 3 > 10: refused whole, not counted
            assert not batch.allowed and batch.remaining == 2
            assert 1 <= batch.retry_after_s <= 60
            assert [(await x.hit("sub:alice", 1)).allowed for x in (b, a, b)] == [
                True, True, False
            ]  # fmt: skip
            assert (await a.hit("sub:bob", 10)).allowed  # another principal, another budget
            assert not (await b.hit("sub:carol", 11)).allowed  # larger than the limit: never
        finally:
            for link in links:
                await link.close()

    asyncio.run(scenario())


def test_the_window_slides(own_redis: RedisServer) -> None:
    """Requests leave the window one by one as they age (not all at a minute boundary), and
    the total survives losing its key (it is summed from the log again)."""
    import asyncio

    import redis

    from mugpos_serving import ratelimit
    from mugpos_serving.redislink import AsyncRedisLink

    async def scenario() -> None:
        link = AsyncRedisLink(own_redis.url)
        limiter = ratelimit.RateLimiter(3, link, prefix="rl-slide:")
        try:
            assert (await limiter.hit("k")).allowed
            await asyncio.sleep(0.4)
            assert (await limiter.hit("k", 2)).allowed
            refused = await limiter.hit("k")
            assert not refused.allowed and refused.remaining == 0
            # The first request (cost 1) leaves first: the refusal waits for it alone.
            redis.Redis(port=own_redis.port).delete("rl-slide:{k}:n")  # the total is lost
            assert not (await limiter.hit("k")).allowed  # ... and summed from the log again
            await asyncio.sleep(0.7)  # only the first entry has aged out (window 1 s here)
            assert (await limiter.hit("k")).allowed
            assert not (await limiter.hit("k")).allowed
        finally:
            await link.close()

    saved = ratelimit.WINDOW_S
    ratelimit.WINDOW_S = 1  # a one-second window, so the test sees it slide
    try:
        asyncio.run(scenario())
    finally:
        ratelimit.WINDOW_S = saved
