"""What events and webhooks cost, and how fast deliveries go.

1. In process: building the events of one position answer (a real coffee analysis, and a
   hostile 200-mug one) and appending events to the SQLite event log (one at a time, and in
   the writer's batches of 256).
2. A real uvicorn process: POST /v1/positions (cache hits, so the request itself is about a
   millisecond and any event cost shows) at concurrency 1, alternating in blocks between "no
   listener" and "an open GET /v1/events stream plus an enabled webhook subscription for the
   analysis types, delivering to a local receiver"; then a burst of analyses and the time until
   every delivery reached the receiver (deliveries/s, in order, per subscription).

    .venv/bin/python bench/bench_events.py --requests 600
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, markdown_table, p50_p95, time_interleaved
from bench_api import free_port, start_server


def coffee_png() -> bytes:
    from PIL import Image
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.coffee()).save(buf, format="PNG")
    return buf.getvalue()


class Receiver:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.count += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def in_process(iterations: int) -> list[list[object]]:
    from mugpos.docstore.sqlite import SqliteDocumentStore
    from mugpos.events import Event, EventLog
    from mugpos.events.analysis import analysis_events

    rows: list[list[object]] = []
    mug = {
        "index": 0, "confidence": 0.9, "box": {"x1": 1, "y1": 2, "x2": 3, "y2": 4},
        "zone": "center", "score": 62.0, "suggestion": {"needed": True, "move": {"dx": 1}},
        "rule_results": [
            {"rule_id": f"r{i}", "rule_name": "n", "severity": "warning", "mug": 0,
             "status": "violated", "measured": 1.0, "required": 5.0, "unit": "%",
             "message": "mug 0: 1% from the laptop, needs ≥ 5%"}
            for i in range(5)
        ],
    }  # fmt: skip
    typical = {"request_id": "r", "image": {"sha256": "s"}, "mugs": [mug], "scene": {"score": 62}}
    hostile = {**typical, "mugs": [{**mug, "index": i} for i in range(200)]}
    built = time_interleaved(
        {
            "typical": lambda _: analysis_events(json.loads(json.dumps(typical))),
            "hostile": lambda _: analysis_events(json.loads(json.dumps(hostile))),
        },
        iterations,
    )
    for name, ms in built.items():
        p50, p95 = p50_p95(ms)
        rows.append([f"analysis_events() + JSON parse, {name} answer", p50, p95, ""])
    tmp = Path(tempfile.mkdtemp(prefix="mugpos-bench-events-"))
    log = EventLog(SqliteDocumentStore(tmp / "events.sqlite3"))
    one = Event(type="rule_triggered", source="api", data=typical)
    singles = []
    for _ in range(200):
        t0 = time.perf_counter()
        log.append(one, "bench")
        singles.append((time.perf_counter() - t0) * 1e3)
    p50, p95 = p50_p95(np.asarray(singles))
    rows.append(["EventLog.append (SQLite file, WAL), one event", p50, p95, f"{1e3 / p50:.0f}/s"])
    batches = []
    for _ in range(10):
        t0 = time.perf_counter()
        log.append_many([one] * 256, "bench")
        batches.append((time.perf_counter() - t0) * 1e3 / 256)
    p50, p95 = p50_p95(np.asarray(batches))
    rows.append(
        ["EventLog.append_many, per event in batches of 256", p50, p95, f"{1e3 / p50:.0f}/s"]
    )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=600, help="per mode (blocks of 50)")
    ap.add_argument("--burst", type=int, default=300, help="analyses in the delivery burst")
    ap.add_argument("--home", type=Path, default=Path(".mugpos"), help="MUGPOS_HOME (models)")
    args = ap.parse_args()

    from mugpos_serving.auth import TokenCodec

    micro = in_process(300)
    secret = secrets.token_urlsafe(48)
    codec = TokenCodec(secret)
    auth = {"Authorization": f"Bearer {codec.create('bench', ['admin'], 3600)}"}
    tmp = Path(tempfile.mkdtemp(prefix="mugpos-bench-events-api-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MUGPOS_")},
        "MUGPOS_HOME": str(args.home.resolve()),
        "MUGPOS_JWT_SECRET": secret,
        "MUGPOS_DOCUMENT_STORE_URI": str(tmp / "documents.sqlite3"),
        "MUGPOS_VECTOR_INDEX_URI": str(tmp / "index"),
        "MUGPOS_RATE_LIMIT_PER_MINUTE": "1000000",
        "MUGPOS_OUTBOUND_ALLOW_PRIVATE": "true",
        "MUGPOS_WEBHOOK_POLL_S": "0.05",
        "MUGPOS_EVENTS_STREAM_MAX_S": "600",
        "MUGPOS_REQUEST_TIMEOUT_S": "700",
    }
    receiver = Receiver()
    port = free_port()
    server = start_server(env, port)
    url = f"http://127.0.0.1:{port}"
    edge = {"id": "edge", "name": "edge", "kind": "edge_clearance", "value": 20, "unit": "%"}
    body = {  # one violated rule: each analysis gives 3 events (analysed, mug, rule)
        "image_base64": base64.b64encode(coffee_png()).decode(),
        "options": {"rules": [edge]},
    }
    try:
        with httpx.Client(base_url=url, headers=auth, timeout=60) as api:
            sub = api.post(
                "/v1/webhooks",
                json={
                    "url": f"http://127.0.0.1:{receiver.port}/hook",
                    "event_types": ["positioning_analyzed", "mug_detected", "rule_triggered"],
                    "enabled": False,
                },
            ).json()
            for _ in range(20):
                api.post("/v1/positions", json=body)  # warm: the answer is cached from now on
            modes = {
                "quiet": "no stream, webhook disabled",
                "stream": "1 open event stream",
                "webhook": "1 enabled webhook (3 deliveries per request)",
            }
            samples: dict[str, list[float]] = {mode: [] for mode in modes}

            def drained() -> None:
                """Wait until every logged event was delivered (untimed)."""
                deadline = time.monotonic() + 300
                while True:
                    state = api.get("/v1/webhooks/status").json()
                    events, dispatcher = state["events"], state["dispatcher"]
                    if events["queued"] == 0 and dispatcher["delivered"] >= events["logged"]:
                        return
                    assert time.monotonic() < deadline, f"deliveries did not drain: {state}"
                    time.sleep(0.01)

            for _ in range(max(1, args.requests // 50)):
                for mode in modes:
                    api.patch(f"/v1/webhooks/{sub['id']}", json={"enabled": mode == "webhook"})
                    with contextlib.ExitStack() as stack:
                        if mode == "stream":
                            stack.enter_context(api.stream("GET", "/v1/events"))
                        for _ in range(50):
                            t0 = time.perf_counter()
                            assert api.post("/v1/positions", json=body).status_code == 200
                            samples[mode].append((time.perf_counter() - t0) * 1e3)
                    drained()  # deliveries never spill into the next block
            api.patch(f"/v1/webhooks/{sub['id']}", json={"enabled": True})
            before = receiver.count
            started = time.perf_counter()
            for _ in range(args.burst):
                api.post("/v1/positions", json=body)
            sent_s = time.perf_counter() - started
            drained()
            drained_s = time.perf_counter() - started
            delivered = receiver.count - before
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = list(micro)
    for mode, label in modes.items():
        p50, p95 = p50_p95(np.asarray(samples[mode]))
        rows.append([f"POST /v1/positions (cache hit), {label}", p50, p95, ""])
    rows.append([
        f"burst: {args.burst} analyses → {delivered} deliveries to a local receiver",
        drained_s * 1e3, sent_s * 1e3, f"{delivered / drained_s:.0f} deliveries/s",
    ])  # fmt: skip
    print(f"machine: {machine()}\n")
    print(
        markdown_table(
            ["what", "p50 ms (burst: total ms)", "p95 ms (burst: send ms)", "rate"], rows
        )
    )
    print(f"\n`{command_line()}`")


if __name__ == "__main__":
    main()
