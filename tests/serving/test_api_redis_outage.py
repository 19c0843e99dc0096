"""Redis dies mid-run: requests still succeed (uncached), /readyz says degraded, and once Redis
is back the cache works again without a restart of the API."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import httpx
from serving_helpers import RedisServer, Uvicorn, base_env, unique_coffee


def wait_for(predicate: Any, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_redis_outage_and_recovery(
    serving_home: Path, tmp_path: Path, own_redis: RedisServer, auth: dict
) -> None:
    env = {**base_env(serving_home, tmp_path), "MUGPOS_REDIS_URL": own_redis.url}
    server = Uvicorn(env, tmp_path / "server.log").start()
    try:
        with httpx.Client(base_url=server.url, headers=auth, timeout=30) as http:

            def position(data: bytes) -> dict:
                payload = {"image_base64": base64.b64encode(data).decode()}
                r = http.post("/v1/positions", json=payload)
                assert r.status_code == 200, r.text
                return r.json()

            image = unique_coffee()
            assert [position(image)["cache"] for _ in range(2)] == ["miss", "hit"]
            assert http.get("/readyz").json()["status"] != "unavailable"

            own_redis.stop()
            # Served without the cache, fast: the breaker stops paying for the dead Redis.
            t0 = time.perf_counter()
            states = [position(unique_coffee())["cache"] for _ in range(4)]
            assert states == ["miss"] * 4 and time.perf_counter() - t0 < 20
            ready = http.get("/readyz")
            assert ready.status_code == 200
            body = ready.json()
            assert body["status"] == "degraded" and "cache:down" in body["degraded"]
            assert body["checks"]["cache"]["state"] == "down"

            RedisServer.start(own_redis)  # same port, empty: it lost everything
            wait_for(lambda: "cache:down" not in http.get("/readyz").json()["degraded"])
            fresh = unique_coffee()
            assert [position(fresh)["cache"] for _ in range(2)] == ["miss", "hit"]
            metrics = http.get("/metrics").text
            assert 'mugpos_cache_requests_total{result="hit"}' in metrics
    finally:
        server.stop()
