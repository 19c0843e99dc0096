"""Sliced inference: full image vs tiled vs tiled-fine on one 1366x768 desk photo, in one run.

    .venv/bin/python bench/bench_tiling.py [--iterations 40]

The photo is a wide desk composite (real surface, real cut-out mugs at 15-60 px), resized to
1366x768, the size of the photo in the issue that found 0 cups without tiling. Each contender is
what an analysis calls (``detect_scene``: detections plus the scene embedding), timed
round-robin; the table gives p50/p95, the number of model passes per image and the ratio to the
full-image pass, and the mugs each found (ground truth in brackets).
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import command_line, machine, markdown_table, p50_p95, time_interleaved
from PIL import Image

from evaluation.desk_composites import build_desk_dataset
from evaluation.detection_metrics import match
from evaluation.sources import SourceCache
from mugpos.models.loader import load_detector
from mugpos.models.variant import FULL, TILED, TILED_FINE, DetectorVariant
from mugpos.settings import get_settings


def desk_photo(seed: int) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    s = get_settings()
    ex = build_desk_dataset(1, seed=seed, cache=SourceCache.from_settings(s)).examples[0]
    kx, ky = 1366 / ex.width, 768 / ex.height
    img = np.asarray(Image.fromarray(ex.image).resize((1366, 768), Image.Resampling.LANCZOS))
    mugs = [(x1 * kx, y1 * ky, x2 * kx, y2 * ky) for x1, y1, x2, y2 in (m.box for m in ex.mugs)]
    return np.ascontiguousarray(img), mugs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=40)
    ap.add_argument("--seed", type=int, default=5000, help="desk composite seed (1366x768, 3 mugs)")
    args = ap.parse_args()

    settings = get_settings()
    ssd = load_detector("ssd-mobilenetv2-oidv4", settings=settings)
    photo, truth = desk_photo(args.seed)
    contenders, passes, found = {}, {}, {}
    for tiling in (FULL, TILED, TILED_FINE):
        v = DetectorVariant(ssd.id, 0.3, tiling)
        det = v.wrap(ssd)
        windows = det.windows(1366, 768) if hasattr(det, "windows") else []
        passes[tiling] = 1 + len(windows)
        mugs = [d for d in det.detect_scene(photo, score_threshold=0.3).detections]
        mugs = [d for d in mugs if d.label == "mug"]
        found[tiling] = (
            len(match(truth, [d.box.as_tuple() for d in mugs], [d.score for d in mugs])),
            len(mugs),
        )
        contenders[tiling] = lambda _i, det=det: det.detect_scene(photo, score_threshold=0.3)
    samples = time_interleaved(contenders, args.iterations, warmup=3)
    base = float(np.percentile(samples[FULL], 50))
    rows = []
    for name, ms in samples.items():
        p50, p95 = p50_p95(ms)
        tp, n = found[name]
        rows.append([name, passes[name], p50, p95, p50 / base, f"{tp} of {len(truth)} ({n} boxes)"])
    print(f"machine: {machine()}\ncommand: {command_line()}\n")
    print(
        markdown_table(
            ["variant", "model passes", "p50 ms", "p95 ms", "p50 / full", "mugs found"], rows
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
