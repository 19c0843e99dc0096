"""Benchmark: positioning + rules + suggestions per scene, model inference excluded.

Random procedural desk scenes with 10 objects (a table, 6 context objects, 3 mugs) and 10 rules
parsed from plain language, with the scale taken from the laptop. Prints a Markdown table of
p50/p95 per scene and per stage.

    .venv/bin/python bench/bench_positioning.py [--scenes 200] [--repeat 3]

The second row (8 mugs, a quarter of the scenes) shows how the coupled greedy scales.
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


def measure(n_mugs: int, scenes: int, repeat: int) -> tuple[list[float], dict[str, list[float]]]:
    rng = random.Random(1234)
    opts = AnalysisOptions(
        rules=[parse_rule(t).rule for t in RULES],
        scale=Scale(reference=parse_reference("the laptop is 31 cm wide")),
    )
    batch = [scene(rng, n_mugs) for _ in range(scenes)]
    for dets in batch[:20]:  # warm-up
        analyze(detections=dets, image_size=(1280, 720), options=opts)
    totals: list[float] = []
    stages: dict[str, list[float]] = {"cpu": []}
    for _ in range(repeat):
        for dets in batch:
            c0 = time.process_time()
            t0 = time.perf_counter()
            res = analyze(detections=dets, image_size=(1280, 720), options=opts)
            totals.append((time.perf_counter() - t0) * 1000.0)
            stages["cpu"].append((time.process_time() - c0) * 1000.0)
            for k in ("position", "rules", "suggest"):
                stages.setdefault(k, []).append(res.timings_ms[k])
    return totals, stages


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
        "| scene | p50 ms | p95 ms | CPU p50 | CPU p95 | position p50 | rules p50 | suggest p50 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    rows = ((3, "3 mugs + 7 objects", args.scenes), (8, "8 mugs + 7 objects", args.scenes // 4))
    for n_mugs, label, n_scenes in rows:
        totals, st = measure(n_mugs, max(n_scenes, 20), args.repeat)
        print(
            f"| {label} | {pct(totals, 50):.2f} | {pct(totals, 95):.2f} | "
            f"{pct(st['cpu'], 50):.2f} | {pct(st['cpu'], 95):.2f} | "
            f"{pct(st['position'], 50):.2f} | {pct(st['rules'], 50):.2f} | "
            f"{pct(st['suggest'], 50):.2f} |"
        )


if __name__ == "__main__":
    main()
