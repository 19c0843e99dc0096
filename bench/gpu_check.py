"""GPU check: CLIP ViT-B-32, YOLOv8n and the offline SSD measured in one go (issue 14).

On a CUDA machine (installs nothing; a few minutes on an H200), via ``bench/gpu_check.sh``:

- CLIP ViT-B-32 image embedding, bf16 autocast, batch 256 and 1024, END TO END FROM JPEG
  BYTES, decoded in DataLoader worker processes (:mod:`mugpos.models.clip_stream`), with the
  exact decode and with JPEGs decoded at reduced DCT scale (two to three times less decode
  work; its cosine against the exact path is reported), plus decode-only and model-only rows
  that show the side that limits;
- YOLOv8n batch throughput: ultralytics' native predict (fp16 on CUDA) and our ONNX export on
  ONNX Runtime's CUDA execution provider (reported as skipped, with the reason, when the
  installed onnxruntime has no CUDA provider: the CPU wheel has none);
- the SSD MobileNetV2 (offline default, LiteRT) on the CPU, for comparison.

It prints a Markdown section and, on CUDA, replaces the ``gpu-check`` section of
docs/benchmarks.md with it (the card named). Weights are random unless ``--real-weights``
finds them in the model store or its mirror: speed does not depend on weights (DESIGN.md,
"Models").

``--dry-run`` runs the same code on the CPU with small sizes (a tiny CLIP, batch 4, a few
images, 160 px YOLO) in well under a minute; it writes docs only to an explicit ``--docs``.

    bench/gpu_check.sh                       # on the GPU machine
    .venv/bin/python bench/gpu_check.py --dry-run --docs a-copy-of-benchmarks.md
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from _common import command_line, machine, markdown_table, offline_env
from _docs_section import replace_section
from _gpu_env import card_description, software_versions

offline_env()

SECTION = "gpu-check"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
BUDGET_S = 300.0
JPEG_HW = (480, 640)
TINY_CLIP = {  # a real open_clip architecture shrunk for the dry run (speed only)
    "embed_dim": 64,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "head_width": 32, "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@dataclasses.dataclass(frozen=True)
class Sizes:
    clip_batches: tuple[int, ...] = (256, 1024)
    clip_images: int = 10240
    workers: int | None = None  # None: every usable CPU
    model_iterations: int = 10
    yolo_batch: int = 64
    yolo_images: int = 1024
    yolo_imgsz: int = 640
    ssd_iterations: int = 200


DRY_RUN = Sizes(
    clip_batches=(4, 8),
    clip_images=16,
    workers=2,
    model_iterations=2,
    yolo_batch=4,
    yolo_images=8,
    yolo_imgsz=160,
    ssd_iterations=5,
)


@dataclasses.dataclass(frozen=True)
class Row:
    model: str
    path: str
    batch: int | str
    images: int
    seconds: float
    images_per_s: float | None
    note: str = ""


# ---- inputs -----------------------------------------------------------------------------------


def jpeg_corpus(n: int) -> tuple[list[bytes], list[np.ndarray]]:
    """``n`` 640x480 JPEGs (q90) cycled from the four real sample photos, and the photos."""
    from PIL import Image

    from mugpos.images import encode_jpeg
    from mugpos.samples import SAMPLE_NAMES, sample_photo

    h, w = JPEG_HW
    photos = [
        np.asarray(Image.fromarray(sample_photo(s)).resize((w, h), Image.Resampling.LANCZOS))
        for s in SAMPLE_NAMES
    ]
    encoded = [encode_jpeg(p, quality=90) for p in photos]
    return [encoded[i % len(encoded)] for i in range(n)], photos


def steady_rate(
    batches: Iterable[object], consume: Callable[[object], object]
) -> tuple[int, float, float]:
    """(images, wall seconds, images/s after the first batch): the rate leaves out worker
    start-up and warm-up, the wall time keeps them."""
    t0 = time.perf_counter()
    first_t, first_n, n = 0.0, 0, 0
    for b in batches:
        consume(b)
        n += len(b)  # type: ignore[arg-type]
        if not first_n:
            first_t, first_n = time.perf_counter(), n
    end = time.perf_counter()
    rate = (n - first_n) / (end - first_t) if n > first_n else n / (end - t0)
    return n, end - t0, rate


# ---- CLIP -------------------------------------------------------------------------------------


def clip_embedder(device, work: Path, dry_run: bool, real_weights: bool) -> tuple[object, str]:  # type: ignore[no-untyped-def]
    import open_clip

    from mugpos.models.catalog import CLIP_VIT_B32
    from mugpos.models.clip import OpenClipEmbedder

    spec, weights, note = CLIP_VIT_B32, None, "random weights"
    if dry_run:
        config = work / "gpu-check-tiny-clip.json"
        config.write_text(json.dumps(TINY_CLIP))
        open_clip.add_model_config(config)
        spec = spec.model_copy(update={"architecture": config.stem, "embedding_dim": 64})
        note = "tiny random CLIP (dry run)"
    elif real_weights:
        weights, note = store_weights(spec)
    return OpenClipEmbedder(spec, weights, device=device), note


def store_weights(spec) -> tuple[Path | None, str]:  # type: ignore[no-untyped-def]
    """The real weights from the model store (cache or mirror), or None with the reason."""
    from mugpos.models.store import ModelStore

    try:
        return ModelStore.from_settings().fetch(spec).path(), "real weights"
    except Exception as exc:  # noqa: BLE001 - any fetch failure means random weights, said so
        return None, f"random weights ({type(exc).__name__}: {str(exc)[:80]})"


def clip_rows(emb, weights_note: str, sizes: Sizes, jpegs: Sequence[bytes]) -> list[Row]:  # type: ignore[no-untyped-def]
    """Per batch size: decode only and end to end, each with the exact decode and with the
    reduced-scale JPEG decode, and the model alone on crops already on the device."""
    from mugpos.images import decode_image
    from mugpos.models.clip_stream import embed_encoded, iter_crop_batches
    from mugpos.models.preprocess import usable_cpus

    workers = sizes.workers if sizes.workers is not None else usable_cpus()
    dtype = emb.device.dtype if emb.device.kind == "cuda" else "float32"
    probe = list(jpegs[: min(len(jpegs), 16)])
    direct = emb.embed_images([decode_image(j).pixels for j in probe])
    cosines = {}
    for reduced in (False, True):
        streamed = embed_encoded(emb, probe, workers=min(2, workers), reduced_decode=reduced)
        cosines[reduced] = float((streamed * direct).sum(axis=1).min())
    rows = []
    for batch in sizes.clip_batches:
        corpus = [jpegs[i % len(jpegs)] for i in range(max(sizes.clip_images, 3 * batch))]
        crops = next(iter(iter_crop_batches(corpus[:batch], emb.image_size, batch, workers=0)))
        rows.append(clip_model_only(emb, crops, sizes.model_iterations, dtype))
        for reduced in (False, True):
            decode = "JPEG at reduced DCT scale" if reduced else "exact decode"
            note = f"{weights_note}; min cosine vs embed_images {cosines[reduced]:.5f}"
            rows += clip_streamed(emb, corpus, batch, workers, reduced, decode, dtype, note)
    return rows


def clip_streamed(emb, corpus, batch, workers, reduced, decode, dtype, note) -> list[Row]:  # type: ignore[no-untyped-def]
    from mugpos.models.clip_stream import embed_crop_batch, iter_crop_batches

    def stream() -> Iterable[object]:
        return iter_crop_batches(
            corpus,
            emb.image_size,
            batch,
            workers=workers,
            pin_memory=emb.device.kind == "cuda",
            reduced_decode=reduced,
        )

    n, wall, rate = steady_rate(stream(), lambda b: None)
    decode_row = Row("CLIP ViT-B-32", f"decode only ({decode}, {workers} workers)", batch, n,
                     wall, rate)  # fmt: skip
    n, wall, rate = steady_rate(stream(), lambda b: embed_crop_batch(emb, b))
    path = f"END TO END from JPEG bytes ({decode}, {dtype}, {workers} workers)"
    return [decode_row, Row("CLIP ViT-B-32", path, batch, n, wall, rate, note)]


def clip_model_only(emb, crops, iterations: int, dtype: str) -> Row:  # type: ignore[no-untyped-def]
    import torch

    from mugpos.models.clip_stream import embed_crop_batch

    sync = torch.cuda.synchronize if emb.device.kind == "cuda" else (lambda: None)
    on_device = crops.to(emb.device.torch_device)
    embed_crop_batch(emb, on_device)  # warm-up (kernels, autocast caches)
    sync()
    t0 = time.perf_counter()
    for _ in range(iterations):
        embed_crop_batch(emb, on_device)
    sync()
    s = time.perf_counter() - t0
    n = len(crops) * iterations
    return Row("CLIP ViT-B-32", f"model only ({dtype}, uint8 crops on device)", len(crops), n,
               s, n / s)  # fmt: skip


# ---- YOLO -------------------------------------------------------------------------------------


def yolo_rows(
    device, work: Path, sizes: Sizes, photos: list[np.ndarray], dry_run: bool, real: bool
) -> list[Row]:  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    from mugpos.models.catalog import YOLOV8N
    from mugpos.models.export import export_yolo_onnx, random_yolo_pt
    from mugpos.models.yolo_native import UltralyticsDetector
    from mugpos.models.yolo_onnx import YoloOnnxDetector

    imgsz, batch = sizes.yolo_imgsz, sizes.yolo_batch
    pt, note = store_weights(YOLOV8N) if real and not dry_run else (None, "random weights")
    if pt is None:
        pt = random_yolo_pt(work / "yolov8n-random.pt", calibration_images=photos, imgsz=imgsz)
    onnx = export_yolo_onnx(
        pt, work / "yolov8n.onnx", imgsz=imgsz, dynamic=True, simplify=not dry_run
    )
    images = [photos[i % len(photos)] for i in range(sizes.yolo_images)]
    dev = dataclasses.replace(device, batch_size=batch)
    rows = []

    def timed(detector, path: str, extra: str) -> Row:  # type: ignore[no-untyped-def]
        detector.detect_batch(images[:batch])  # warm-up
        t0 = time.perf_counter()
        detector.detect_batch(images)
        s = time.perf_counter() - t0
        return Row(
            "YOLOv8n",
            path,
            batch,
            len(images),
            s,
            len(images) / s,
            f"{note}, {imgsz} px, decoded arrays in{extra}",
        )

    native = UltralyticsDetector(YOLOV8N, pt, device=dev, imgsz=imgsz)
    precision = "fp16" if device.kind == "cuda" else "fp32"
    rows.append(timed(native, f"ultralytics native predict ({precision}, {dev.torch_device})", ""))
    wanted = dev.onnx_providers[0]
    det = YoloOnnxDetector(YOLOV8N, onnx, providers=dev.onnx_providers, batch_size=batch)
    active = det._session.get_providers()[0]  # type: ignore[attr-defined]
    path = f"our ONNX export on ONNX Runtime {ort.__version__}, {active}"
    if active != wanted:
        reason = (
            f"skipped: {wanted} not in this onnxruntime build (available: "
            f"{', '.join(ort.get_available_providers())}); onnxruntime-gpu is needed"
        )
        rows.append(Row("YOLOv8n", path, batch, 0, 0.0, None, reason))
    else:
        rows.append(timed(det, path, ", NMS in numpy"))
    return rows


# ---- SSD --------------------------------------------------------------------------------------


def ssd_rows(iterations: int) -> list[Row]:
    from bench_ssd import bench_end_to_end, photo_640x480

    from mugpos.models.loader import load_detector

    path = "LiteRT on the CPU, 2 threads, JPEG decode included"
    try:
        det = load_detector("ssd-mobilenetv2-oidv4", num_threads=2)
    except Exception as exc:  # noqa: BLE001 - the row says why it is missing
        return [Row("SSD MobileNetV2 (OIDv4)", path, 1, 0, 0.0, None, f"unavailable: {exc}")]
    total = np.asarray(bench_end_to_end(det, photo_640x480(), iterations)["total"])
    p50 = float(np.percentile(total, 50))
    return [
        Row(
            "SSD MobileNetV2 (OIDv4)",
            path,
            1,
            len(total),
            float(total.sum()) / 1e3,
            1e3 / p50,
            "real weights; fixed batch 1, one process (p50 per image)",
        )
    ]


def guarded(name: str, part: Callable[[], list[Row]], strict: bool) -> list[Row]:
    """Run one part; on the GPU a failure becomes a row, so one broken part (a driver, a
    missing library) does not lose the other figures of a run that is hard to repeat. The dry
    run (the tests) lets it raise."""
    try:
        return part()
    except Exception as exc:
        if strict:
            raise
        logging.exception("gpu check: %s failed", name)
        return [Row(name, "failed", "-", 0, 0.0, None, f"{type(exc).__name__}: {str(exc)[:160]}")]


# ---- report -----------------------------------------------------------------------------------


def rows_table(rows: list[Row]) -> str:
    return markdown_table(
        ["model", "path", "batch", "images", "wall s", "images/s", "note"],
        [
            (
                r.model,
                r.path,
                r.batch,
                r.images,
                r.seconds,
                "-" if r.images_per_s is None else f"{r.images_per_s:.1f}",
                r.note,
            )
            for r in rows
        ],
    )


def section(rows: list[Row], card: str, dry_run: bool, elapsed: float, versions: str) -> str:
    title = "## GPU check: CLIP ViT-B-32, YOLOv8n, SSD in one run (issue 14)"
    lead = "**DRY RUN on the CPU with small sizes: these are not GPU figures.** " if dry_run else ""
    budget = "" if elapsed <= BUDGET_S else f" (over the {BUDGET_S:.0f} s budget)"
    table = rows_table(rows)
    return "\n".join(
        [
            title,
            "",
            f"{lead}Card: {card}. Host: {machine()}. {versions}. "
            f"Whole check {elapsed:.0f} s{budget}. Inputs: 640x480 JPEG q90 of the four sample "
            "photos, cycled. images/s of the streamed rows leave out the first batch (worker "
            "start-up); the wall time keeps it. Target: CLIP ≥ 3,000 images/s per H200 end to end.",
            "",
            table,
            "",
            f"`{command_line()}` (via `bench/gpu_check.sh`)",
        ]
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dry-run", action="store_true", help="CPU, small sizes (the tests)")
    p.add_argument("--docs", type=Path, help=f"Markdown file whose {SECTION} section to replace")
    p.add_argument("--no-docs", action="store_true", help="print only")
    p.add_argument("--real-weights", action="store_true", help="try the model store first")
    p.add_argument("--workers", type=int, help="decode workers (default: every usable CPU)")
    p.add_argument("--clip-images", type=int)
    p.add_argument("--clip-batches", type=lambda s: tuple(int(x) for x in s.split(",")))
    p.add_argument("--yolo-images", type=int)
    p.add_argument("--skip", default="", help="comma list of clip,yolo,ssd to leave out")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING)
    args = parse_args(argv)
    t_start = time.perf_counter()
    from mugpos.device import choose_device

    sizes = DRY_RUN if args.dry_run else Sizes()
    overrides = {
        k: v
        for k, v in {
            "workers": args.workers,
            "clip_images": args.clip_images,
            "clip_batches": args.clip_batches,
            "yolo_images": args.yolo_images,
        }.items()
        if v is not None
    }
    sizes = dataclasses.replace(sizes, **overrides)
    device = choose_device("cpu" if args.dry_run else "cuda", max(sizes.clip_batches))
    if not args.dry_run and device.kind != "cuda":
        raise SystemExit(f"no CUDA device ({device.reason}); on a CPU use --dry-run")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    jpegs, photos = jpeg_corpus(64)
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    parts: dict[str, Callable[[], list[Row]]] = {
        "clip": lambda: clip_rows(
            *clip_embedder(device, work, args.dry_run, args.real_weights), sizes, jpegs
        ),
        "yolo": lambda: yolo_rows(device, work, sizes, photos, args.dry_run, args.real_weights),
        "ssd": lambda: ssd_rows(sizes.ssd_iterations),
    }
    rows: list[Row] = []
    try:
        for name, part in parts.items():
            if name not in skip:
                got = guarded(name, part, strict=args.dry_run)
                # Printed as each part ends: a run cut short by the time limit keeps these.
                print(f"\n[{name} done]\n{rows_table(got)}\n", flush=True)
                rows += got
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - t_start
    text = section(rows, card_description(), args.dry_run, elapsed, software_versions())
    print(text)
    print(
        "GPU_CHECK_RESULT "
        + json.dumps(
            {
                "dry_run": args.dry_run,
                "elapsed_s": elapsed,
                "rows": [dataclasses.asdict(r) for r in rows],
            }
        )
    )
    docs = args.docs or (None if args.dry_run else DOCS)
    if docs is not None and not args.no_docs:
        replace_section(docs, SECTION, text)
        print(f"wrote the {SECTION} section of {docs}")


if __name__ == "__main__":
    main()
