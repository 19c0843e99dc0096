"""The rate limiter's own cost per request, against a real Redis: wall time and this process's
CPU per ``RateLimiter.hit``, sequential (concurrency 1) and 16 at a time on one event loop.

``--baseline DIR`` times the limiter of the code in DIR too (a checkout of an earlier commit),
in the same run, alternating blocks of calls between the two, so both face the same machine.

    .venv/bin/python bench/bench_ratelimit.py --calls 4000
    .venv/bin/python bench/bench_ratelimit.py --calls 4000 --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine, markdown_table


def limiter_module(src: Path, name: str) -> ModuleType:
    """``mugpos_serving/ratelimit.py`` of the code in ``src``, loaded under its own name (its
    only import, the Redis link, comes from this checkout: the link is not what is timed)."""
    spec = importlib.util.spec_from_file_location(name, src / "mugpos_serving" / "ratelimit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


async def block(limiter: object, calls: int, concurrency: int) -> tuple[float, float]:
    """µs of wall time and of CPU per call for ``calls`` hits, ``concurrency`` at a time."""
    key = f"sub:bench-{uuid.uuid4().hex[:8]}"
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(calls // concurrency):
        await asyncio.gather(*(limiter.hit(key) for _ in range(concurrency)))  # type: ignore[attr-defined]
    done = calls // concurrency * concurrency
    return (
        (time.perf_counter() - wall0) / done * 1e6,
        (time.process_time() - cpu0) / done * 1e6,
    )


async def run(args: argparse.Namespace) -> list[list[object]]:
    from mugpos_serving.redislink import AsyncRedisLink

    here = Path(__file__).resolve().parent.parent
    versions = {"after": here}
    if args.baseline is not None:
        versions = {"before": args.baseline.resolve(), "after": here}
    link = AsyncRedisLink(args.redis_url)
    await link.ping()
    limiters = {
        v: limiter_module(src, f"ratelimit_{v}").RateLimiter(
            10**9, link, prefix=f"bench-rl-{uuid.uuid4().hex[:6]}:"
        )
        for v, src in versions.items()
    }
    rows = []
    try:
        for concurrency in args.concurrency:
            samples: dict[str, list[tuple[float, float]]] = {v: [] for v in versions}
            for limiter in limiters.values():  # warm-up
                await block(limiter, 200, concurrency)
            for _ in range(args.rounds):
                for v, limiter in limiters.items():
                    samples[v].append(await block(limiter, args.calls, concurrency))
            for v, got in samples.items():
                wall, cpu = np.asarray([g[0] for g in got]), np.asarray([g[1] for g in got])
                rows.append([v, concurrency, args.calls * args.rounds,
                             float(np.median(wall)), float(np.median(cpu))])  # fmt: skip
    finally:
        for limiter in limiters.values():
            await limiter.close()
        await link.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=4000, help="per block")
    ap.add_argument("--rounds", type=int, default=5, help="blocks per limiter, alternated")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--baseline", type=Path, default=None)
    args = ap.parse_args()
    load_start = Path("/proc/loadavg").read_text().split()[:3]
    rows = asyncio.run(run(args))
    load_end = Path("/proc/loadavg").read_text().split()[:3]
    print(f"## Rate limiter per request ({machine()})\n")
    print(f"Load average before: {' '.join(load_start)}, after: {' '.join(load_end)}\n")
    headers = ["code", "concurrency", "calls", "wall µs/call (median block)", "CPU µs/call"]
    print(markdown_table(headers, rows))
    print(f"\nCommand: `{command_line()}`")


if __name__ == "__main__":
    main()
