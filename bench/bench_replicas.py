"""API replicas: ``mugpos serve --workers 2`` against one process, at one concurrency, one run.

Both servers run side by side (same code, same Redis, their own key prefixes) and the loads
alternate between them round by round (1, 2, 1, 2, ...), so both face the same machine. Each
round sends ``--requests`` POST /v1/positions per cache mode with bench_api's lean keep-alive
client (one connection per concurrent client; the kernel spreads connections over the worker
processes when they are accepted): cache off sends a different photo each time (every request
computed), cache on one photo (hits). Auth and the Redis rate limit are on, as in production.
Server CPU is summed over the server's processes (gunicorn's master and workers).

    .venv/bin/python bench/bench_replicas.py --home .mugpos --requests 600 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, markdown_table
from bench_api import (
    cpu_ms,
    distinct_photos,
    free_port,
    load,
    multipart,
    photo_640x480,
    run_env,
    server_env,
    start_server,
)


def tree_cpu_ms(pid: int) -> float:
    """CPU time of a process and its children (the worker processes)."""
    total = cpu_ms(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(tree_cpu_ms(int(c)) for c in children)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=600, help="per round, mode and server")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--home", type=Path, default=Path(".mugpos"), help="MUGPOS_HOME (models)")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    ap.add_argument(
        "--inference-workers",
        type=int,
        default=None,
        help="per process (default: usable CPUs / processes, as docs/operations.md advises)",
    )
    args = ap.parse_args()

    from mugpos_serving.auth import TokenCodec

    here = Path(__file__).resolve().parent.parent
    load_start = Path("/proc/loadavg").read_text().split()[:3]
    jpeg = photo_640x480()
    photos = distinct_photos(args.requests + 40)  # cache off: no cache, so rounds may reuse them
    secret = secrets.token_urlsafe(48)
    token = TokenCodec(secret).create("bench", ["positions"], 3600)
    tmp = Path(tempfile.mkdtemp(prefix="mugpos-bench-replicas-"))
    base_env = server_env(args.home, secret, args.redis_url)
    cpus = len(os.sched_getaffinity(0))
    threads = {n: args.inference_workers or max(1, cpus // n) for n in args.processes}

    servers = {}
    try:
        for n in args.processes:
            for cache in ("off", "on"):
                env = run_env(base_env, tmp, f"p{n}", cache)
                env["MUGPOS_INFERENCE_WORKERS"] = str(threads[n])
                port = free_port()
                bodies = [multipart(p) for p in photos] if cache == "off" else [multipart(jpeg)]
                servers[(n, cache)] = (start_server(env, port, here, workers=n), port, bodies)
        samples: dict[tuple[int, str], list[dict]] = {key: [] for key in servers}
        for _ in range(args.rounds):
            for cache in ("off", "on"):
                for n in args.processes:  # alternated: both face the same machine
                    proc, port, bodies = servers[(n, cache)]
                    cpu0 = tree_cpu_ms(proc.pid)
                    r = asyncio.run(load(port, bodies, token, args.requests, args.concurrency))
                    r["server_cpu"] = (tree_cpu_ms(proc.pid) - cpu0) / (args.requests + 20)
                    samples[(n, cache)].append(r)
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
        for proc, _, _ in servers.values():
            proc.wait(timeout=60)

    load_end = Path("/proc/loadavg").read_text().split()[:3]
    rows = []
    for (n, cache), runs in samples.items():
        for k, r in enumerate(runs, 1):
            rows.append([n, f"cache {cache}", k, args.requests, r["errors"], r["p50"], r["p95"],
                         r["rps"], r["server_cpu"]])  # fmt: skip
    print(f"## API replicas ({machine()})\n")
    print(
        f"Load average (1, 5, 15 min) before: {' '.join(load_start)}, after: {' '.join(load_end)}\n"
    )
    print(
        f"Concurrency {args.concurrency}, keep-alive connections; photo 640x480 JPEG, "
        f"{len(jpeg)} bytes; auth + Redis rate limit on; inference workers per process: "
        + ", ".join(f"{n} process(es): {t}" for n, t in threads.items())
        + ".\n"
    )
    headers = ["processes", "mode", "round", "requests", "errors", "p50 ms", "p95 ms", "req/s",
               "server CPU ms/req"]  # fmt: skip
    print(markdown_table(headers, rows))
    summary = []
    for cache in ("off", "on"):
        base = samples.get((args.processes[0], cache))
        for n in args.processes:
            runs = samples[(n, cache)]
            rps = float(np.mean([r["rps"] for r in runs]))
            p95 = float(np.mean([r["p95"] for r in runs]))
            ratio = rps / float(np.mean([r["rps"] for r in base])) if base else float("nan")
            summary.append([n, f"cache {cache}", rps, p95, f"{ratio:.2f}×"])
    print("\nMean over rounds:\n")
    print(markdown_table(["processes", "mode", "req/s", "p95 ms", "req/s vs first"], summary))
    print(f"\nCommand: `{command_line()}`")


if __name__ == "__main__":
    main()
