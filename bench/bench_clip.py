"""CLIP ViT-B-32 image tower: ONNX Runtime against open_clip on torch, images per second.

Random weights on the real architecture (``pretrained=None``: speed does not depend on the
weights). Each contender embeds the same real photos (decoded arrays of 300-640 px), our shared
preprocessing included; a second table times the model alone on ready pixels.

CPU (default): ONNX Runtime vs torch at batch 1 and 32, timed round-robin in one process.
    .venv/bin/python bench/bench_clip.py
GPU (a CUDA machine): open_clip with autocast at a large batch; no ONNX (CPU build here).
    .venv/bin/python bench/bench_clip.py --device cuda --dtype bfloat16 --batch 1024
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import command_line, machine, markdown_table, offline_env, p50_p95, time_interleaved

offline_env()


def photos(n: int) -> list[np.ndarray]:
    import skimage.data as data

    base = [data.coffee(), data.astronaut(), data.rocket(), data.chelsea()]
    return [base[i % len(base)] for i in range(n)]


def contenders(model, ort_emb, torch_emb, images: list[np.ndarray]) -> dict:  # type: ignore[no-untyped-def]
    """The four timed calls for one batch: each embedder end to end, each model alone."""
    import torch

    pixels = ort_emb.preprocess(images)
    tensor = torch.from_numpy(pixels)

    def torch_model_only(_: int) -> object:
        with torch.inference_mode():
            return model.encode_image(tensor)

    return {
        "onnxruntime": lambda _: ort_emb.embed_images(images),
        "open_clip torch": lambda _: torch_emb.embed_images(images),
        "onnxruntime, model only": lambda _: ort_emb._image.run(None, {"pixels": pixels}),
        "open_clip torch, model only": torch_model_only,
    }


def cpu_main(args: argparse.Namespace) -> None:
    import open_clip
    import torch

    from mugpos.device import choose_device
    from mugpos.models.catalog import CLIP_VIT_B32
    from mugpos.models.clip import ClipOnnxEmbedder, OpenClipEmbedder
    from mugpos.models.export import export_clip_onnx

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None)
    cpu = choose_device("cpu")
    work = Path(tempfile.mkdtemp(prefix="bench-clip-"))
    t0 = time.perf_counter()
    image_onnx, _ = export_clip_onnx(model, work / "image.onnx", None)
    export_s = time.perf_counter() - t0
    rows, model_rows = [], []
    for batch in args.batch:
        ort_emb = ClipOnnxEmbedder(CLIP_VIT_B32, image_onnx, batch_size=batch)
        torch_emb = OpenClipEmbedder(CLIP_VIT_B32, None, device=cpu, model=model, batch_size=batch)
        images = photos(batch)
        a, b = ort_emb.embed_images(images), torch_emb.embed_images(images)
        cos = float((a * b).sum(axis=1).min())
        iters = args.iterations if batch == 1 else max(3, args.iterations // 5)
        ms = time_interleaved(
            contenders(model, ort_emb, torch_emb, images), iters, warmup=1, settle_s=0.1
        )
        for name, v in ms.items():
            p50, p95 = p50_p95(v)
            row = (name, batch, iters, p50, p95, batch * 1e3 / p50)
            (model_rows if "model only" in name else rows).append(row)
        rows.append((f"(min cosine onnx vs torch: {cos:.5f})", batch, "", "", "", ""))
    print(
        f"\nCLIP ViT-B-32 image tower (random weights), CPU, fp32, {machine()}, "
        f"torch threads {torch.get_num_threads()}, ONNX export {export_s:.0f} s\n"
    )
    headers = ["path", "batch", "iterations", "p50 ms/batch", "p95 ms/batch", "images/s (p50)"]
    print("End to end (decoded photos in, embeddings out):\n")
    print(markdown_table(headers, rows))
    print("\nModel only (preprocessed pixels in):\n")
    print(markdown_table(headers, model_rows))
    print(f"\n`{command_line()}`")


def gpu_main(args: argparse.Namespace) -> None:
    import open_clip
    import torch

    from mugpos.device import choose_device
    from mugpos.models.catalog import CLIP_VIT_B32
    from mugpos.models.clip import OpenClipEmbedder

    batch = args.batch[-1]
    device = dataclasses.replace(choose_device("cuda", batch), dtype=args.dtype)
    if device.kind != "cuda":
        raise SystemExit(f"no CUDA device: {device.reason}")
    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None)
    emb = OpenClipEmbedder(CLIP_VIT_B32, None, device=device, model=model, batch_size=batch)
    n_batches = max(2, args.iterations // 4)
    images = photos(batch * n_batches)
    pixels = torch.from_numpy(emb._preprocess(images[:batch]).numpy()).to(device.torch_device)
    dtype = device.torch_dtype()

    def model_only(_: int) -> None:
        with torch.inference_mode(), torch.autocast("cuda", dtype=dtype):  # type: ignore[arg-type]
            model.encode_image(pixels)
        torch.cuda.synchronize()

    def end_to_end(_: int) -> None:  # n_batches batches, preprocessing overlapped with the GPU
        emb.embed_images(images)

    model_ms = time_interleaved({"model": model_only}, args.iterations, warmup=3)["model"]
    e2e_ms = time_interleaved({"e2e": end_to_end}, 2, warmup=1)["e2e"]
    p50, p95 = p50_p95(model_ms)
    e50, e95 = p50_p95(e2e_ms)
    rows = [
        ("open_clip, model only (pixels on device)", batch, p50, p95, batch * 1e3 / p50),
        (
            f"open_clip, end to end ({n_batches} batches, CPU preprocessing)",
            batch * n_batches,
            e50,
            e95,
            batch * n_batches * 1e3 / e50,
        ),
    ]
    print(f"\nCLIP ViT-B-32 image tower (random weights), {device.name}, autocast {args.dtype}\n")
    print(markdown_table(["path", "images", "p50 ms", "p95 ms", "images/s (p50)"], rows))
    print(f"\n{machine()}\n\n`{command_line()}`")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    parser.add_argument(
        "--batch",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 32],
        help="comma-separated batch sizes (CUDA mode uses the last)",
    )
    parser.add_argument("--iterations", type=int, default=16, help="at batch 1; /5 for larger")
    args = parser.parse_args()
    (gpu_main if args.device == "cuda" else cpu_main)(args)


if __name__ == "__main__":
    main()
