"""Benchmark: positioning + rules + suggestions per scene, model inference excluded.

Random procedural desk scenes with 10 objects (a table, 6 context objects, 3 mugs) and 10 rules
parsed from plain language, with the scale taken from the laptop, the implicit hard constraints
on (no mug-mug overlap, never onto a new object, containment, the 1 % margin). Prints Markdown
tables: p50/p95 per scene and per stage for the compiled search (numba, the default) and the
numpy reference path side by side in one run, then how the cost grows with the mug count
(ms per 1000 candidate points: flat means linear in mugs x candidates).

    .venv/bin/python bench/bench_positioning.py [--scenes 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

from mugpos.analysis import AnalysisOptions, analyze
from mugpos.detections import Box, Detection
from mugpos.positioning import search
from mugpos.positioning.constraints import MugConstraints, prepare_rules
from mugpos.positioning.frame import build_frame
from mugpos.positioning.suggest import plan_moves
from mugpos.rules.parser import parse_reference, parse_rule
from mugpos.units import Scale

RULES = [
    "Keep mugs at least 6 inches away from laptops",
    "Mugs should be at least 5cm apart",
    "Never put a mug on the keyboard",
    "No mug within 5% of the table edge",
    "Keep mugs at least 3 cm from the mouse",
    "Mugs should not be in the corners",
    "Keep mugs 5 cm from the monitor",
    "Mugs could be 2 cm from the book",
    "Never put a mug on the laptop",
    "Keep mugs at least 4 cm from the bottle",
]
CONTEXT = [("laptop", 320, 210), ("keyboard", 420, 130), ("mouse", 60, 90), ("monitor", 500, 60),
           ("book", 200, 150), ("bottle", 70, 200)]  # fmt: skip
SIZE = (1280, 720)


def scene(rng: random.Random, n_mugs: int = 3) -> list[Detection]:
    def det(label: str, w: float, h: float, area: tuple[float, float, float, float]) -> Detection:
        x = rng.uniform(area[0], area[2] - w)
        y = rng.uniform(area[1], area[3] - h)
        return Detection(
            label=label, raw_label=label, score=0.9, box=Box(x1=x, y1=y, x2=x + w, y2=y + h)
        )

    table = (40.0, 120.0, 1240.0, 700.0)
    dets = [Detection(label="table", raw_label="table", score=0.9, box=Box.from_xyxy(table))]
    dets += [det(label, w, h, table) for label, w, h in CONTEXT]
    dets += [det("mug", 70, 80, table) for _ in range(n_mugs)]
    return dets


def options() -> AnalysisOptions:
    return AnalysisOptions(
        rules=[parse_rule(t).rule for t in RULES],
        scale=Scale(reference=parse_reference("the laptop is 31 cm wide")),
    )


def measure(n_mugs: int, scenes: int, repeat: int) -> tuple[list[float], dict[str, list[float]]]:
    rng = random.Random(1234)
    opts = options()
    batch = [scene(rng, n_mugs) for _ in range(scenes)]
    for dets in batch[:20]:  # warm-up
        analyze(detections=dets, image_size=SIZE, options=opts)
    totals: list[float] = []
    stages: dict[str, list[float]] = {"cpu": []}
    for _ in range(repeat):
        for dets in batch:
            c0 = time.process_time()
            t0 = time.perf_counter()
            res = analyze(detections=dets, image_size=SIZE, options=opts)
            totals.append((time.perf_counter() - t0) * 1000.0)
            stages["cpu"].append((time.process_time() - c0) * 1000.0)
            for k in ("position", "rules", "suggest"):
                stages.setdefault(k, []).append(res.timings_ms[k])
    return totals, stages


def scaling(n_mugs: int, scenes: int) -> tuple[float, float]:
    """(median planning ms per scene, median candidate points per scene)."""
    rng = random.Random(99)
    opts = options()
    ms, cands = [], []
    for _ in range(scenes):
        dets = scene(rng, n_mugs)
        frame = build_frame(dets, *SIZE, scale=opts.scale)
        prepared = prepare_rules(opts.rules, frame)
        mugs = [MugConstraints(frame, prepared, m, b) for m, b in enumerate(frame.mugs)]
        t0 = time.perf_counter()
        plan = plan_moves(frame, prepared, mugs)
        ms.append((time.perf_counter() - t0) * 1000.0)
        cands.append(plan.candidates)
    return statistics.median(ms), statistics.median(cands)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"`{' '.join([os.path.basename(sys.executable), *sys.argv])}` — {cores} cores, "
          f"{args.scenes} scenes x {args.repeat}, 10 rules, scale from the laptop\n")  # fmt: skip
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average before: {load:.2f} (wall times include waiting for a busy CPU; ")
    print("CPU time does not)\n")
    print(
        "| search | scene | p50 ms | p95 ms | CPU p50 | CPU p95 | position p50 | rules p50 "
        "| suggest p50 |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    rows = ((3, "3 mugs + 7 objects", args.scenes), (8, "8 mugs + 7 objects", args.scenes // 4))
    for numpy_only, name in ((False, "numba"), (True, "numpy")):
        search.NUMPY_ONLY = numpy_only
        for n_mugs, label, n_scenes in rows:
            totals, st = measure(n_mugs, max(n_scenes, 20), args.repeat)
            print(
                f"| {name} | {label} | {pct(totals, 50):.2f} | {pct(totals, 95):.2f} | "
                f"{pct(st['cpu'], 50):.2f} | {pct(st['cpu'], 95):.2f} | "
                f"{pct(st['position'], 50):.2f} | {pct(st['rules'], 50):.2f} | "
                f"{pct(st['suggest'], 50):.2f} |"
            )
    search.NUMPY_ONLY = False
    print("\n| mugs | plan ms (median) | candidates (median) | ms per 1000 candidates |")
    print("|---:|---:|---:|---:|")
    for n in (2, 4, 8, 16):
        ms, cands = scaling(n, 40)
        print(f"| {n} | {ms:.2f} | {cands:.0f} | {1000 * ms / max(cands, 1):.3f} |")


if __name__ == "__main__":
    main()
