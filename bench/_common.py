"""Small timing helpers shared by the benchmark scripts.

Contenders are timed round-robin (A, B, A, B, ...) rather than one after the other, so a noisy
neighbour or a clock change on a shared machine hits every contender alike, and results are
reported as p50/p95 from numpy percentiles.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np


def offline_env() -> None:
    """Model libraries must never reach for a hub (call before importing them)."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="mugpos-bench-yolo-"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def time_interleaved(
    contenders: Mapping[str, Callable[[int], object]],
    iterations: int,
    warmup: int = 3,
    settle_s: float = 0.0,
) -> dict[str, np.ndarray]:
    """Milliseconds per call for each contender; each callable gets the iteration index.

    ``settle_s`` sleeps before each timed call, so thread pools a contender left spinning
    (ONNX Runtime's, OpenMP's) do not slow the next one down.
    """
    for i in range(warmup):
        for fn in contenders.values():
            fn(i)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for i in range(iterations):
        for name, fn in contenders.items():
            if settle_s:
                time.sleep(settle_s)
            t0 = time.perf_counter()
            fn(i)
            samples[name].append((time.perf_counter() - t0) * 1e3)
    return {name: np.asarray(v) for name, v in samples.items()}


def p50_p95(ms: np.ndarray) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(v: object) -> str:
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def command_line() -> str:
    """The exact command that produced the output (for pasting next to the numbers)."""
    return shlex.join([".venv/bin/python", *sys.argv])


def machine() -> str:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            name = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name}, {cpus} usable CPUs, Python {platform.python_version()}"
