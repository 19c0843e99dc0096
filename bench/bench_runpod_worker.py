"""The RunPod worker against the API, on the same machine, models and body, in one run.

Starts ``mugpos serve`` (auth off, cache off, no rate limit) and the RunPod worker with the SDK's
local API server (``--rp_serve_api`` on 127.0.0.1), both on the manifest under ``--home``, and
reports: start-up (process start until it answers), the first answer (cold), then
``--requests`` answers at concurrency 1, alternating API / worker (round-robin): POST
/v1/positions with a 640x480 JPEG as base64 and one inline rule, against POST /runsync with the
same body as the job's input. Cache off, so every answer is computed. Prints Markdown and the
command.

    .venv/bin/python bench/bench_runpod_worker.py --home <a home with the offline model>
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, markdown_table, p50_p95, time_interleaved

SSD = "ssd-mobilenetv2-oidv4"
RULE = {"id": "edge-10pct", "name": "far from the top", "kind": "edge_clearance",
        "value": 10, "unit": "%", "edges": ["top"]}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_manifest(home: Path) -> None:
    from mugpos.manifest import MANIFEST_NAME, manifest_entry, new_manifest, write_manifest
    from mugpos.models.catalog import get_spec
    from mugpos.models.store import ModelStore
    from mugpos.settings import Settings

    if not (home / "models" / MANIFEST_NAME).is_file():
        store = ModelStore.from_settings(Settings(home=home))
        write_manifest(store, new_manifest(SSD, SSD, [manifest_entry(store, get_spec(SSD))]))


def body() -> dict[str, object]:
    from PIL import Image
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.coffee()).resize((640, 480)).save(buf, format="JPEG", quality=90)
    return {"image_base64": base64.b64encode(buf.getvalue()).decode(), "options": {"rules": [RULE]}}


def start(
    cmd: list[str], env: dict[str, str], probe: str, log: Path
) -> tuple[subprocess.Popen, float]:  # type: ignore[type-arg]
    t0 = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[2:4]} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(probe, timeout=1).status_code == 200:
                return proc, time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.05)


def stop(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--requests", type=int, default=60)
    args = ap.parse_args()
    home = args.home.resolve()
    ensure_manifest(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "MUGPOS_"))}
    env.update({
        "MUGPOS_HOME": str(home), "MUGPOS_OFFLINE": "true", "MUGPOS_AUTH_DISABLED": "true",
        "MUGPOS_CACHE_ENABLED": "false", "MUGPOS_RATE_LIMIT_PER_MINUTE": "0",
        "MUGPOS_RECORD_ANALYSES": "false", "RUNPOD_LOG_LEVEL": "WARN",
        "UVICORN_LOG_LEVEL": "warning",
    })  # fmt: skip
    api_port, rp_port = free_port(), free_port()
    py = sys.executable
    logs = home / "bench-logs"
    logs.mkdir(exist_ok=True)
    api, api_start = start(
        [py, "-m", "mugpos.cli", "serve", "--port", str(api_port), "--no-access-log"],
        env, f"http://127.0.0.1:{api_port}/healthz", logs / "api.log",
    )  # fmt: skip
    rp_args = ["--rp_serve_api", "--rp_api_host", "127.0.0.1", "--rp_api_port", str(rp_port)]
    worker, rp_start = start(
        [py, "-m", "mugpos_serving.runpod_worker", *rp_args],
        env, f"http://127.0.0.1:{rp_port}/openapi.json", logs / "worker.log",
    )  # fmt: skip
    payload = body()
    try:
        with httpx.Client(timeout=60) as client:

            def via_api(_: int) -> None:
                r = client.post(f"http://127.0.0.1:{api_port}/v1/positions", json=payload)
                assert r.status_code == 200 and r.json()["mugs"], r.text[:300]

            def via_worker(_: int) -> None:
                r = client.post(f"http://127.0.0.1:{rp_port}/runsync", json={"input": payload})
                answer = r.json()
                assert answer["status"] == "COMPLETED" and answer["output"]["mugs"], r.text[:300]

            first = time_interleaved({"api": via_api, "worker": via_worker}, 1, warmup=0)
            ms = time_interleaved({"api": via_api, "worker": via_worker}, args.requests)
    finally:
        stop(worker)
        stop(api)
    rows = []
    for name, started, label in (
        ("api", api_start, "API (`mugpos serve`), POST /v1/positions"),
        ("worker", rp_start, "RunPod worker (SDK local API), POST /runsync"),
    ):
        p50, p95 = p50_p95(ms[name])
        rows.append([label, round(started, 2), round(float(first[name][0]), 1), p50, p95])
    print(f"{machine()}; {args.requests} answers each, concurrency 1, cache off\n")
    heads = ["path", "start-up s", "first answer ms", "p50 ms", "p95 ms"]
    print(markdown_table(heads, rows))
    ratio = p50_p95(ms["worker"])[0] / p50_p95(ms["api"])[0]
    print(f"\nworker / API at p50: {ratio:.2f}x\n\n`{command_line()}`")


if __name__ == "__main__":
    main()
