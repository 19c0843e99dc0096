"""Redis answering in 80 ms (below the breaker's timeout): the event loop never waits for it,
and the latency breaker stops paying for it while it is slow."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from serving_helpers import DelayProxy, RedisServer, Uvicorn, base_env


def test_a_slow_redis_does_not_block_the_event_loop(
    serving_home: Path, tmp_path: Path, own_redis: RedisServer, auth: dict, make_token: Any
) -> None:
    proxy = DelayProxy(own_redis.port, delay_s=0.08).start()
    env = {
        **base_env(serving_home, tmp_path),
        "MUGPOS_REDIS_URL": proxy.url,
        "MUGPOS_REDIS_TIMEOUT_S": "0.5",  # 80 ms is well below it: slow, not down
        "MUGPOS_RATE_LIMIT_PER_MINUTE": "100000",
    }
    server = Uvicorn(env, tmp_path / "server.log").start()
    try:

        async def scenario() -> tuple[list[int], list[float]]:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                await client.get("/healthz")
                burst = asyncio.gather(*(client.get("/v1/rules", headers=auth) for _ in range(20)))
                pings = []
                while not burst.done():
                    t0 = time.perf_counter()
                    assert (await client.get("/healthz")).status_code == 200
                    pings.append(time.perf_counter() - t0)
                return [r.status_code for r in await burst], pings

        statuses, pings = asyncio.run(scenario())
        assert statuses == [200] * 20
        # Blocking calls would hold /healthz behind 20 × 80 ms of Redis (1.6 s on main).
        assert pings and max(pings) < 0.5, pings
        admin = {"Authorization": f"Bearer {make_token('admin')}"}

        def ready() -> dict:
            return httpx.get(f"{server.url}/readyz", headers=admin).json()

        deadline = time.monotonic() + 10  # the probe needs three slow pings (about 1 s)
        while ready()["checks"]["cache"]["state"] != "slow":
            assert time.monotonic() < deadline, ready()["checks"]["cache"]
            time.sleep(0.1)
        now = ready()
        assert "cache:slow" in now["degraded"] and "rate_limit:local_fallback" in now["degraded"]
        # While the breaker is open, requests skip Redis (limits are counted in the process).
        assert now["checks"]["rate_limit"]["state"] == "local"
        assert httpx.get(f"{server.url}/v1/rules", headers=auth).status_code == 200
    finally:
        server.stop()
        proxy.stop()
