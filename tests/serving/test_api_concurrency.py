"""Inference stays off the event loop; a full queue answers 503 + Retry-After; timeouts 504."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from serving_helpers import Uvicorn, assert_error, base_env, coffee_pixels, jpeg


@pytest.fixture(scope="module")
def narrow(serving_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Uvicorn]:
    """One inference worker, one queue slot, no cache: easy to fill."""
    tmp = tmp_path_factory.mktemp("narrow")
    env = {
        **base_env(serving_home, tmp),
        "MUGPOS_INFERENCE_WORKERS": "1",
        "MUGPOS_INFERENCE_QUEUE_SIZE": "1",
        "MUGPOS_CACHE_ENABLED": "false",
    }
    server = Uvicorn(env, tmp / "server.log").start()
    yield server
    server.stop()


def big_pixels() -> np.ndarray:
    """A 4500x3000 photo: long enough to decode that a blocked loop would show."""
    return np.array(Image.fromarray(coffee_pixels()).resize((4500, 3000)))


def big_photo() -> bytes:
    return jpeg(big_pixels(), quality=95)


def distinct(photo_pixels: np.ndarray, n: int) -> list[dict]:
    """``n`` payloads of the same scene, each with its own bytes: identical requests in flight
    are computed once (single flight), distinct ones each take a slot."""
    out = []
    for i in range(n):
        pixels = photo_pixels.copy()
        pixels[:16, :16] = 10 * i  # a whole block: one pixel can vanish in JPEG quantisation
        out.append({"image_base64": base64.b64encode(jpeg(pixels, quality=95)).decode()})
    return out


async def fire(url: str, auth: dict, payloads: list[dict]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, headers=auth, timeout=60) as client:
        return await asyncio.gather(*(client.post("/v1/positions", json=p) for p in payloads))


def test_full_queue_answers_503_with_retry_after(narrow: Uvicorn, auth: dict) -> None:
    payloads = distinct(big_pixels(), 9)
    payload = payloads.pop()
    responses = asyncio.run(fire(narrow.url, auth, payloads))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) == {200, 503}, statuses
    assert statuses.count(200) >= 2  # the running job and the queued one
    for r in responses:
        if r.status_code == 503:
            err = assert_error(r, 503, "overloaded")
            assert int(r.headers["retry-after"]) >= 1 and err["details"]["capacity"] == 2
    # Slots are given back: the next request is served.
    assert httpx.post(
        f"{narrow.url}/v1/positions", json=payload, headers=auth, timeout=60
    ).is_success


def test_event_loop_stays_free_during_inference(narrow: Uvicorn, auth: dict) -> None:
    payloads = distinct(big_pixels(), 2)

    async def scenario() -> tuple[float, list[float]]:
        async with httpx.AsyncClient(base_url=narrow.url, headers=auth, timeout=60) as client:
            await client.get("/healthz")  # connection warm
            t0 = time.perf_counter()
            heavy = asyncio.gather(*(client.post("/v1/positions", json=p) for p in payloads))
            pings = []
            await asyncio.sleep(0.05)
            while not heavy.done():
                p0 = time.perf_counter()
                assert (await client.get("/healthz")).status_code == 200
                pings.append(time.perf_counter() - p0)
                await asyncio.sleep(0.02)
            assert all(r.status_code == 200 for r in await heavy)
            return time.perf_counter() - t0, pings

    busy_s, pings = asyncio.run(scenario())
    assert len(pings) >= 3
    # Were inference on the loop, a ping would wait for a whole image's work.
    assert max(pings) < busy_s / 2, (max(pings), busy_s)


def test_request_timeout_is_504(app_settings: Any, auth: dict) -> None:
    from fastapi.testclient import TestClient

    from mugpos_serving.app import create_app

    settings = app_settings(request_timeout_s=0.02, cache_enabled=False)
    with TestClient(create_app(settings)) as c:
        payload = {"image_base64": base64.b64encode(big_photo()).decode()}
        err = assert_error(c.post("/v1/positions", json=payload, headers=auth), 504, "timeout")
        assert err["details"]["timeout_s"] == 0.02
        assert c.get("/healthz").status_code == 200  # the app is fine afterwards
        deadline = time.monotonic() + 10
        while c.get("/readyz").json()["checks"]["workers"]["in_flight"]:
            assert time.monotonic() < deadline  # the abandoned job frees its slot when done
            time.sleep(0.05)
