"""Records nobody else can take, cache entries nobody else can see, one computation for
identical requests in flight."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from serving_helpers import Uvicorn, assert_error, base_env, coffee_pixels, jpeg, unique_coffee

from mugpos.docstore import open_document_store


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: bytes) -> dict[str, str]:
    return {"image_base64": base64.b64encode(data).decode()}


def test_a_client_chosen_request_id_cannot_take_another_users_record(
    client: Any, make_token: Any
) -> None:
    """Two users send the same X-Request-ID: each gets a record of their own, and the first
    user's feedback still finds theirs (on main the second replaced the first)."""
    alice = bearer(make_token("positions", subject="alice"))
    bob = bearer(make_token("positions", subject="bob"))
    same = {"X-Request-ID": "order-1234"}
    a = client.post("/v1/positions", json=b64(unique_coffee()), headers={**alice, **same}).json()
    b = client.post("/v1/positions", json=b64(unique_coffee()), headers={**bob, **same}).json()
    assert a["request_id"] != b["request_id"]

    first = client.post("/v1/feedback", json={"request_id": a["request_id"], "correct": True},
                        headers=alice)  # fmt: skip
    assert first.status_code == 201, first.text
    # Bob can neither reach Alice's analysis by its id nor by the id he chose.
    for rid in (a["request_id"], "order-1234"):
        r = client.post("/v1/feedback", json={"request_id": rid, "correct": False}, headers=bob)
        assert_error(r, 404, "analysis_not_found")
    admin = bearer(make_token("admin", subject="reviewer"))
    r = client.post("/v1/feedback", json={"request_id": a["request_id"], "correct": False},
                    headers=admin)  # fmt: skip
    assert r.status_code == 201  # an admin may comment, in a record of its own

    location = client.app.state.settings.document_store_location
    with open_document_store(location) as store:
        analyses = store.collection("analyses")
        assert analyses.get(a["request_id"])["subject"] == "alice"
        assert analyses.get(b["request_id"])["subject"] == "bob"
        assert analyses.get("order-1234") is None
        feedback = store.collection("feedback").find({"request_id": a["request_id"]})
    by_subject = {f["subject"]: f["correct"] for f in feedback}
    assert by_subject == {"alice": True, "reviewer": False}  # nobody replaced anybody


def test_cache_entries_are_per_principal(client: Any, make_token: Any) -> None:
    """Bob sending the photo Alice just sent learns nothing: no hit, a computed answer."""
    alice = bearer(make_token("positions", subject="alice-cache"))
    bob = bearer(make_token("positions", subject="bob-cache"))
    image = b64(unique_coffee())
    states = [client.post("/v1/positions", json=image, headers=h).json()["cache"]
              for h in (alice, alice, bob, bob)]  # fmt: skip
    assert states == ["miss", "hit", "miss", "hit"]


def test_cache_key_carries_code_and_manifest_versions(client: Any) -> None:
    from dataclasses import replace

    from mugpos.analysis import AnalysisOptions
    from mugpos_serving.positioning import CODE_VERSION, cache_key

    bundle = client.app.state.services.registry.current
    opts = AnalysisOptions(rules=())
    served = bundle.variant
    key = cache_key("ab" * 32, bundle, opts, served, 0, None)
    assert key.split(":")[1] == CODE_VERSION
    rebuilt = replace(bundle, fingerprint="0123456789abcdef")  # same model ids, another manifest
    assert cache_key("ab" * 32, rebuilt, opts, served, 0, None) != key
    # Another tiling of the same network is another answer.
    full = bundle.variant_for(None, "full" if served.tiling != "full" else "tiled")
    assert cache_key("ab" * 32, bundle, opts, full, 0, None) != key


@pytest.fixture(scope="module")
def one_worker(serving_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Uvicorn]:
    tmp = tmp_path_factory.mktemp("one-worker")
    env = {
        **base_env(serving_home, tmp),
        "MUGPOS_INFERENCE_WORKERS": "1",
        "MUGPOS_INFERENCE_QUEUE_SIZE": "1",
        "MUGPOS_CACHE_ENABLED": "false",
        "MUGPOS_RATE_LIMIT_PER_MINUTE": "100000",
    }
    server = Uvicorn(env, tmp / "server.log").start()
    yield server
    server.stop()


def detect_count(url: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    m = re.search(
        r'mugpos_inference_duration_seconds_count\{model="[^"]+",stage="detect"\} (\S+)', text
    )
    return float(m.group(1)) if m else 0.0


def test_identical_requests_in_flight_are_computed_once(one_worker: Uvicorn, auth: dict) -> None:
    """Six identical requests at once on one worker with one queue slot: without single flight
    four would be refused (503) and the photo analysed twice or more; with it, one analysis
    serves all six."""
    pixels = np.array(Image.fromarray(coffee_pixels()).resize((4500, 3000)))
    pixels[:16, :16] = 3  # bytes no other test sends
    payload = b64(jpeg(pixels, quality=95))
    before = detect_count(one_worker.url)

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=one_worker.url, headers=auth, timeout=60) as c:
            return await asyncio.gather(*(c.post("/v1/positions", json=payload) for _ in range(6)))

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [200] * 6, [r.text[:200] for r in responses]
    bodies = [r.json() for r in responses]
    assert len({b["request_id"] for b in bodies}) == 6  # six requests, six records
    assert all(b["mugs"] == bodies[0]["mugs"] for b in bodies)
    assert detect_count(one_worker.url) - before == 1
