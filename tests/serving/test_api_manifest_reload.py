"""A new model manifest is picked up while requests are in flight, and none of them fails."""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from serving_helpers import Uvicorn, base_env, coffee_pixels, jpeg, link_models

from mugpos.manifest import manifest_entry, new_manifest, write_manifest
from mugpos.models.catalog import get_spec
from mugpos.models.store import ModelStore

SSD = "ssd-mobilenetv2-oidv4"
IMAGE = {"image_base64": base64.b64encode(jpeg(coffee_pixels())).decode()}


def write(store: ModelStore, tag: str, bad_sha: bool = False) -> str:
    entry = manifest_entry(store, get_spec(SSD), parity={"build": tag})
    if bad_sha:
        next(iter(entry.files.values())).sha256 = "0" * 64
    manifest = new_manifest(SSD, SSD, [entry])
    write_manifest(store, manifest)
    return manifest.fingerprint


def test_manifest_swap_under_load(
    shared_home: Path, ssd: Any, tmp_path: Path, auth: dict, make_token: Any
) -> None:
    home = tmp_path / "home"
    link_models(shared_home, home)
    env = {**base_env(home, tmp_path), "MUGPOS_CACHE_ENABLED": "false"}
    server = Uvicorn(env, tmp_path / "server.log").start()
    seen: list[tuple[int, str | None]] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=server.url, headers=auth, timeout=30) as http:
            while not stop.is_set():
                r = http.post("/v1/positions", json=IMAGE)
                fp = r.json()["models"]["manifest_fingerprint"] if r.status_code == 200 else None
                seen.append((r.status_code, fp))

    def wait_until_served(fingerprint: str) -> None:
        deadline = time.monotonic() + 30
        while not any(fp == fingerprint for _, fp in seen[-5:]):
            assert time.monotonic() < deadline, f"{fingerprint} never served: {seen[-5:]}"
            time.sleep(0.1)

    try:
        admin = {"Authorization": f"Bearer {make_token('admin')}"}  # /readyz details
        with httpx.Client(base_url=server.url, headers=admin) as http:
            models = http.get("/readyz").json()["checks"]["models"]
            assert models["state"] == "offline_default" and models["source"] == "offline_default"
            assert "models:offline_default" in http.get("/readyz").json()["degraded"]

            threads = [threading.Thread(target=load) for _ in range(2)]
            for t in threads:
                t.start()
            store = ModelStore(home / "models", offline=True)
            first = write(store, "a")
            wait_until_served(first)
            second = write(store, "b")
            wait_until_served(second)
            rejected = write(store, "c", bad_sha=True)
            deadline = time.monotonic() + 30
            while http.get("/readyz").json()["checks"]["models"]["state"] != "manifest_rejected":
                assert time.monotonic() < deadline
                time.sleep(0.1)
            n_before = len(seen)
            time.sleep(1.0)
            stop.set()
            for t in threads:
                t.join()
            ready = http.get("/readyz").json()
            assert "models:manifest_rejected" in ready["degraded"]
            assert ready["checks"]["models"]["fingerprint"] == second
            assert "does not match sha256" in ready["checks"]["models"]["message"]
            metrics = http.get("/metrics").text
            assert 'mugpos_model_reloads_total{result="rejected"}' in metrics
    finally:
        stop.set()
        server.stop()

    statuses = {status for status, _ in seen}
    assert statuses == {200}, [s for s in seen if s[0] != 200][:5]
    order = [fp for _, fp in seen]
    # Served in order: offline default, then the first manifest, then the second; never the
    # rejected one, never back.
    changes = [fp for i, fp in enumerate(order) if i == 0 or fp != order[i - 1]]
    assert changes == [None, first, second], changes
    assert rejected not in order and len(seen) > n_before
