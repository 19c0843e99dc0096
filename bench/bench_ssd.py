"""Offline default detector: latency per image at batch 1, JPEG decode included.

Compares, in one run on the same photo: the shipped model read with LiteRT's keep-all-tensors
mode (the only way to get the embedding without editing the model) against our rewritten model
that outputs the feature map directly, at 1 and 2 threads.

    .venv/bin/python bench/bench_ssd.py [--iterations 300]

A second table gives the embedder's throughput (images/s) at batch 1, 8 and 32 through
``embed_images``, as the embedding assets call it (decoded photos in, vectors out).
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
from _common import p50_p95
from PIL import Image

from mugpos.images import decode_image, encode_jpeg
from mugpos.models.loader import load_detector
from mugpos.samples import sample_photo


def photo_640x480() -> bytes:
    img = Image.fromarray(sample_photo("coffee")).resize((640, 480), Image.Resampling.LANCZOS)
    return encode_jpeg(np.asarray(img), quality=90)


def bench_end_to_end(detector, jpeg: bytes, iterations: int) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    stages: dict[str, list[float]] = {"decode": [], "detect+embed": [], "total": []}
    for i in range(iterations + 20):
        t0 = time.perf_counter()
        pixels = decode_image(jpeg).pixels
        t1 = time.perf_counter()
        detector.run(pixels)
        t2 = time.perf_counter()
        if i >= 20:  # warm-up excluded
            stages["decode"].append((t1 - t0) * 1e3)
            stages["detect+embed"].append((t2 - t1) * 1e3)
            stages["total"].append((t2 - t0) * 1e3)
    return stages


def bench_preserve_all(detector, jpeg: bytes, iterations: int, threads: int) -> list[float]:  # type: ignore[no-untyped-def]
    """The shipped model with every intermediate tensor kept, reading the feature map inside."""
    from ai_edge_litert.interpreter import Interpreter

    original = detector.model_path.parent / detector.spec.primary.name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interp = Interpreter(
            model_path=str(original), num_threads=threads, experimental_preserve_all_tensors=True
        )
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]["index"]
    out = [d["index"] for d in interp.get_output_details()]
    feat = next(
        t["index"]
        for t in interp.get_tensor_details()
        if t["name"].startswith("FeatureExtractor/MobilenetV2/Conv_1/Relu6")
    )
    times = []
    for i in range(iterations + 20):
        t0 = time.perf_counter()
        pixels = decode_image(jpeg).pixels
        interp.set_tensor(inp, detector.preprocess(pixels))
        interp.invoke()
        raw_boxes, logits = (interp.get_tensor(o)[0] for o in out)
        detector._decode(raw_boxes, logits, pixels.shape[1], pixels.shape[0], 0.3, 0.45)
        interp.get_tensor(feat)[0].reshape(-1, 1280).mean(0)
        if i >= 20:
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def bench_embed_batches(iterations: int) -> list[tuple[int, float, float]]:
    """images/s (p50 and p95 batch time) for batch sizes 1, 8, 32, on four real photos."""
    det = load_detector("ssd-mobilenetv2-oidv4", num_threads=2)
    base = [sample_photo(n) for n in ("coffee", "astronaut", "rocket", "chelsea")]
    rows = []
    for batch in (1, 8, 32):
        images = [base[i % len(base)] for i in range(batch)]
        det.embed_images(images)  # warm-up
        times = []
        for _ in range(max(3, iterations // batch)):
            t0 = time.perf_counter()
            det.embed_images(images)
            times.append((time.perf_counter() - t0) * 1e3)
        p50, p95 = p50_p95(np.asarray(times))
        rows.append((batch, batch * 1e3 / p50, batch * 1e3 / p95))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()
    jpeg = photo_640x480()
    rows = []
    for threads in (2, 1):
        det = load_detector("ssd-mobilenetv2-oidv4", num_threads=threads)
        stages = bench_end_to_end(det, jpeg, args.iterations)
        for name, values in stages.items():
            p50, p95 = p50_p95(np.asarray(values))
            rows.append((f"ours ({threads} threads): {name}", p50, p95))
        p50, p95 = p50_p95(np.asarray(bench_preserve_all(det, jpeg, args.iterations, threads)))
        rows.append((f"keep-all-tensors ({threads} threads): total", p50, p95))
    print(
        f"\nSSD MobileNetV2 (OIDv4), 640x480 JPEG, batch 1, {args.iterations} iterations, "
        f"{platform.processor() or platform.machine()}\n"
    )
    print("| path | p50 ms | p95 ms |\n|---|---:|---:|")
    for name, p50, p95 in rows:
        print(f"| {name} | {p50:.2f} | {p95:.2f} |")
    print("\nSSD backbone embedder (1280-d), images/s through embed_images:\n")
    print("| batch | images/s (p50) | images/s (p95) |\n|---:|---:|---:|")
    for batch, rate50, rate95 in bench_embed_batches(args.iterations):
        print(f"| {batch} | {rate50:.1f} | {rate95:.1f} |")


if __name__ == "__main__":
    main()
