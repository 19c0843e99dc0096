"""Load test of the positioning API: a real uvicorn process, a lean asyncio HTTP/1.1 load generator.

For cache off and cache on (Redis), at each concurrency, ``--requests`` POST /v1/positions of
a 640x480 photo (multipart, encoded beforehand), with auth and rate limiting on as in
production. Cache off sends a different photo each time (the same scene with changed corner
blocks: no cache entry, no single-flight sharing), so every request is computed; cache on
sends one photo, so after the first request every answer is a hit. The raw model time
(``detector.run`` on the decoded photo, same threads per call as the server's workers) is
measured in this process before the load, on an idle server.

``--baseline DIR`` runs the same load, in the same run, against the code in DIR too (a checkout
of an earlier commit: ``git worktree add /tmp/before <commit>``), alternating the two servers
per mode, so before and after face the same machine. Prints Markdown tables and the command.

    .venv/bin/python bench/bench_api.py --requests 2000
    .venv/bin/python bench/bench_api.py --requests 800 --concurrency 1 16 --baseline /tmp/before
    .venv/bin/python bench/bench_api.py --modes on --rounds 3 --baseline /tmp/before  # hits A/B
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, markdown_table

BOUNDARY = "mugposbenchboundary"


def photo_640x480() -> bytes:
    from PIL import Image
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.coffee()).resize((640, 480)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def distinct_photos(n: int) -> list[bytes]:
    """``n`` encodings of the same scene, each with its own bytes: two 16x16 corner blocks
    carry the index (a one-pixel change can vanish in JPEG quantisation)."""
    from PIL import Image
    from skimage import data

    base = np.asarray(Image.fromarray(data.coffee()).resize((640, 480))).copy()
    out = []
    for i in range(n):
        pixels = base.copy()
        pixels[:16, :16] = i % 256
        pixels[:16, 16:32] = (i // 256) % 256
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def multipart(jpeg: bytes) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="p.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + jpeg + f"\r\n--{BOUNDARY}--\r\n".encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    env: dict[str, str], port: int, src: Path, workers: int = 1
) -> subprocess.Popen[bytes]:
    """``mugpos serve`` running the code in ``src`` (its working directory and PYTHONPATH),
    with ``workers`` API processes."""
    cmd = [sys.executable, "-m", "mugpos.cli", "serve", "--port", str(port), "--no-access-log"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    env = {**env, "PYTHONPATH": str(src)}
    proc = subprocess.Popen(
        cmd, env=env, cwd=src, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become ready")


class Connection:
    """A minimal HTTP/1.1 keep-alive client: a prepared request out, status and body back.

    httpx costs about a millisecond of CPU per request; on a 2-core machine, where the load
    generator shares the cores with the server, that alone capped the measured throughput
    (and so, by Little's law, inflated latency at high concurrency). This costs a tenth of it.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        return cls(*await asyncio.open_connection(host, port))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at < 0:
            raise RuntimeError(f"no Content-Length in {head[:200]!r}")
        end = lower.find(b"\r\n", at + 2)
        length = int(lower[at + len(b"\r\ncontent-length:") : end])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def prepared(port: int, path: str, body: bytes, token: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def load(
    port: int, bodies: list[bytes], token: str, n: int, concurrency: int
) -> dict[str, object]:
    """``n`` requests, ``concurrency`` at a time (one keep-alive connection each), cycling
    through ``bodies``."""
    requests = [prepared(port, "/v1/positions", b, token) for b in bodies]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    caches: dict[str, int] = {}
    detect: list[float] = []  # the model's time inside each computed request (server side)
    remaining = n
    sent = 0

    async def worker(conn: Connection) -> None:
        nonlocal remaining, sent
        while remaining > 0:
            remaining -= 1
            request = requests[sent % len(requests)]
            sent += 1
            t0 = time.perf_counter()
            try:
                status, body = await conn.send(request)
                ok = status == 200
                key = "200" if ok else str(status)
                if ok:
                    answer = json.loads(body)
                    caches[answer["cache"]] = caches.get(answer["cache"], 0) + 1
                    if answer["cache"] != "hit":
                        detect.append(answer["timings_ms"]["detect"])
            except (OSError, asyncio.IncompleteReadError, RuntimeError) as exc:
                ok, key = False, type(exc).__name__
            latencies.append((time.perf_counter() - t0) * 1e3)
            if not ok:
                errors[key] = errors.get(key, 0) + 1

    conns = [await Connection.open("127.0.0.1", port) for _ in range(concurrency)]
    try:
        for i in range(min(20, n)):  # warm-up: connections, caches, interpreters
            await conns[i % concurrency].send(requests[-1 - i % len(requests)])
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in conns))
        wall = time.perf_counter() - started
    finally:
        for c in conns:
            c.close()
    ms = np.asarray(latencies)
    return {
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "p99": float(np.percentile(ms, 99)),
        "rps": len(ms) / wall,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "cache": caches,
        "detect_p50": float(np.percentile(detect, 50)) if detect else None,
    }


def server_env(
    home: Path,
    secret: str,
    redis_url: str,
    workers: int | None = None,
    threads: int | None = None,
) -> dict[str, str]:
    """The servers' environment: auth and the Redis rate limit on (a limit no load reaches)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MUGPOS_")},
        "MUGPOS_HOME": str(home.resolve()),
        "MUGPOS_JWT_SECRET": secret,
        "MUGPOS_REDIS_URL": redis_url,
        "MUGPOS_RATE_LIMIT_PER_MINUTE": "1000000",
        "MUGPOS_INFERENCE_QUEUE_SIZE": "64",
    }
    if workers:
        env["MUGPOS_INFERENCE_WORKERS"] = str(workers)
    if threads:
        env["MUGPOS_INFERENCE_THREADS"] = str(threads)
    return env


def run_env(base: dict[str, str], tmp: Path, name: str, cache: str) -> dict[str, str]:
    """One server's own key prefix, document store and index, with the cache on or off."""
    run = f"{name}-{cache}-{uuid.uuid4().hex[:6]}"
    return {
        **base,
        "MUGPOS_CACHE_ENABLED": "true" if cache == "on" else "false",
        "MUGPOS_REDIS_KEY_PREFIX": f"bench-{run}:",
        "MUGPOS_DOCUMENT_STORE_URI": str(tmp / f"{run}.sqlite3"),
        "MUGPOS_VECTOR_INDEX_URI": str(tmp / f"{run}-index"),
    }


def cpu_ms(pid: int) -> float:
    """User + system CPU time of a process so far (Linux), to show cost apart from contention."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def raw_model_ms(
    home: Path, jpeg: bytes, threads: int, iterations: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """Milliseconds of one model pass (``detector.run``) and of the configured variant's whole
    detection (full image plus tiles, merged: what the server's ``detect`` stage runs), and
    the variant's key."""
    from mugpos.images import decode_image
    from mugpos.models.loader import load_detector
    from mugpos.models.variant import configured_variant
    from mugpos.settings import Settings

    settings = Settings(home=home)
    detector = load_detector(settings=settings, num_threads=threads)
    variant = configured_variant(settings)
    served = variant.wrap(detector)
    pixels = decode_image(jpeg).pixels

    def one_pass() -> None:
        detector.run(pixels)

    def whole() -> None:
        served.detect(pixels, score_threshold=variant.threshold)

    out: list[np.ndarray] = []
    for fn in (one_pass, whole):
        for _ in range(10):
            fn()
        ms = []
        for _ in range(iterations):
            t0 = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t0) * 1e3)
        out.append(np.asarray(ms))
    return out[0], out[1], variant.key


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=2000, help="per cache mode and concurrency")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--home", type=Path, default=Path(".mugpos"), help="MUGPOS_HOME (models)")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--workers", type=int, default=None, help="MUGPOS_INFERENCE_WORKERS")
    ap.add_argument("--threads", type=int, default=None, help="MUGPOS_INFERENCE_THREADS")
    ap.add_argument("--modes", nargs="+", choices=["off", "on"], default=["off", "on"])
    ap.add_argument(
        "--rounds", type=int, default=1, help="repeat each mode, alternating the servers again"
    )
    ap.add_argument(
        "--baseline", type=Path, default=None, help="a checkout of the code to compare against"
    )
    args = ap.parse_args()

    from mugpos.settings import Settings
    from mugpos_serving.auth import TokenCodec
    from mugpos_serving.services import pool_shape

    here = Path(__file__).resolve().parent.parent
    versions = {"after": here} if args.baseline is None else {
        "before": args.baseline.resolve(), "after": here
    }  # fmt: skip
    load_start = Path("/proc/loadavg").read_text().split()[:3]  # other work on the machine
    jpeg = photo_640x480()
    hit_body = [multipart(jpeg)]
    miss_bodies = [multipart(p) for p in distinct_photos(args.requests + 40)]
    secret = secrets.token_urlsafe(48)
    token = TokenCodec(secret).create("bench", ["positions"], 3600)
    tmp = Path(tempfile.mkdtemp(prefix="mugpos-bench-api-"))
    base_env = server_env(args.home, secret, args.redis_url, args.workers, args.threads)
    workers, threads = pool_shape(
        Settings(inference_workers=args.workers, inference_threads=args.threads)
    )
    raw, served, variant_key = raw_model_ms(args.home, jpeg, threads, 300)
    raw_p50, raw_p95 = float(np.percentile(raw, 50)), float(np.percentile(raw, 95))
    # The e2e target is against the detection the server runs: the served variant's.
    served_p50, served_p95 = float(np.percentile(served, 50)), float(np.percentile(served, 95))

    rows, results = [], {}
    rounds = [(cache, k) for cache in args.modes for k in range(1, args.rounds + 1)]
    for cache, k in rounds:
        for version, src in versions.items():  # alternated: before and after face one machine
            env = run_env(base_env, tmp, version, cache)
            bodies = miss_bodies if cache == "off" else hit_body
            port = free_port()
            server = start_server(env, port, src)
            try:
                for c in args.concurrency:
                    cpu0 = cpu_ms(server.pid)
                    r = asyncio.run(load(port, bodies, token, args.requests, c))
                    r["server_cpu"] = (cpu_ms(server.pid) - cpu0) / (
                        args.requests + min(20, args.requests)
                    )
                    results[(version, cache, c)] = r
                    rows.append(
                        [
                            version if args.rounds == 1 else f"{version} (round {k})",
                            f"cache {cache}",
                            c,
                            args.requests,
                            r["errors"],
                            r["p50"],
                            r["p95"],
                            r["p99"],
                            r["rps"],
                            r["server_cpu"],
                            ", ".join(f"{k}: {v}" for k, v in sorted(r["cache"].items())),  # type: ignore[union-attr]
                        ]
                    )
            finally:
                server.terminate()
                server.wait(timeout=30)

    load_end = Path("/proc/loadavg").read_text().split()[:3]
    print(f"## API load ({machine()})\n")
    print(
        f"Load average (1, 5, 15 min) before: {' '.join(load_start)}, after: {' '.join(load_end)}\n"
    )
    print(
        f"Server: 1 uvicorn process, {workers} inference workers x {threads} thread(s) per model "
        f"call; auth + rate limit (Redis) on; photo 640x480 JPEG, {len(jpeg)} bytes.\n"
    )
    headers = ["code", "mode", "concurrency", "requests", "errors", "p50 ms", "p95 ms",
               "p99 ms", "req/s", "server CPU ms/req", "cache"]  # fmt: skip
    print(markdown_table(headers, rows))
    print(
        f"\nRaw model (`detector.run` on the decoded photo, {threads} thread(s), same run): "
        f"p50 {raw_p50:.2f} ms, p95 {raw_p95:.2f} ms; the served variant's whole detection "
        f"(`{variant_key}`: full image + tiles, merged): p50 {served_p50:.2f} ms, "
        f"p95 {served_p95:.2f} ms\n"
    )
    checks = []
    for version in versions:
        in_request = results.get((version, "off", 1), {}).get("detect_p50")
        if in_request is not None:
            print(
                f"{version}: model time inside the requests (server `detect` stage, cache off, "
                f"c=1): p50 {in_request:.2f} ms\n"
            )
        off1 = results.get((version, "off", 1))
        on1 = results.get((version, "on", 1))
        on16 = results.get((version, "on", 16))
        if off1:
            ratio = off1["p50"] / served_p50  # type: ignore[operator]
            shown = f"{off1['p50']:.2f} = {ratio:.2f} × {served_p50:.2f}"
            target = "e2e p50 ≤ 1.3 × the served variant's detection p50 (cache off, c=1)"
            checks.append((version, target, shown, ratio <= 1.3))
        if on1:
            checks.append((version, "cache hit p95 ≤ 5 ms (c=1)", f"{on1['p95']:.2f}",
                           on1["p95"] <= 5))  # type: ignore[operator]  # fmt: skip
        if on16:
            checks.append((version, "cache hit p95 ≤ 20 ms (c=16)", f"{on16['p95']:.2f}",
                           on16["p95"] <= 20))  # type: ignore[operator]  # fmt: skip
        errors = sum(int(r["errors"]) for k, r in results.items() if k[0] == version)  # type: ignore[call-overload]
        checks.append((version, "0 errors", str(errors), errors == 0))
    print(
        markdown_table(
            ["code", "target", "measured", "met"],
            [[v, a, b, "yes" if ok else "NO"] for v, a, b, ok in checks],
        )
    )
    print(f"\nCommand: `{command_line()}`")


if __name__ == "__main__":
    main()
