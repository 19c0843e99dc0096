"""YOLOv8n on ONNX Runtime: our serving path against ``ultralytics.YOLO(onnx).predict``.

Same ONNX file, same photos (4 real photos of different sizes, in turn), batch 1, timed
round-robin in one process. Random weights (speed does not depend on them), calibrated so the
photos give a realistic handful of boxes at conf 0.25 and postprocessing does real work. Also
times the bare ``session.run`` on a ready tensor, the floor both wrappers sit on.

    .venv/bin/python bench/bench_yolo.py [--imgsz 640] [--iterations 40]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import command_line, machine, markdown_table, offline_env, p50_p95, time_interleaved

from mugpos.models.preprocess import letterbox_into, letterbox_params, scale_boxes_back
from mugpos.models.yolo_onnx import decode_yolo

offline_env()

IOU = 0.7  # ultralytics' predict default
STAGES = ("preprocess", "inference", "postprocess")


def photos() -> list[np.ndarray]:
    import skimage.data as data

    return [data.coffee(), data.astronaut(), data.rocket(), data.chelsea()]


def our_stages(det, image: np.ndarray, conf: float) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """One detect() split into its stages with the detector's public pieces."""
    t0 = time.perf_counter()
    p = letterbox_params(image.shape[:2], det.input_hw)
    blob, canvas = det._buffers.get(1, p.out_h, p.out_w, np.dtype(np.float32))
    letterbox_into(image, canvas, p)
    np.divide(canvas.transpose(2, 0, 1), np.float32(255), out=blob[0])
    t1 = time.perf_counter()
    out = det._session.run(None, {"images": blob})[0]
    t2 = time.perf_counter()
    boxes, scores, classes = decode_yolo(out[0], det.num_classes, conf, IOU)
    det._to_detections(scale_boxes_back(boxes, p), scores, classes)
    t3 = time.perf_counter()
    return dict(zip(STAGES, ((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3), strict=True))


def stage_means(fn, iterations: int) -> list[float]:  # type: ignore[no-untyped-def]
    runs = []
    for i in range(iterations):
        time.sleep(0.1)
        runs.append(fn(i))
    return [float(np.mean([r[k] for r in runs])) for k in STAGES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--conf", type=float, default=0.25)
    parser.add_argument("--settle", type=float, default=0.1, help="seconds idle before a call")
    args = parser.parse_args()

    from ultralytics import YOLO

    from mugpos.models.catalog import YOLOV8N
    from mugpos.models.export import export_yolo_onnx, random_yolo_pt
    from mugpos.models.yolo_onnx import YoloOnnxDetector

    images = photos()
    bgr = [np.ascontiguousarray(im[..., ::-1]) for im in images]  # ultralytics' input order
    n = len(images)
    work = Path(tempfile.mkdtemp(prefix="bench-yolo-"))
    pt = random_yolo_pt(work / "yolov8n.pt", calibration_images=images, imgsz=args.imgsz)
    static = export_yolo_onnx(pt, work / "static.onnx", imgsz=args.imgsz, dynamic=False)
    dynamic = export_yolo_onnx(pt, work / "dynamic.onnx", imgsz=args.imgsz, dynamic=True)

    ours_sq = YoloOnnxDetector(YOLOV8N, static)
    ours_rect = YoloOnnxDetector(YOLOV8N, dynamic, rect=True)
    ultra_sq = YOLO(str(static), task="detect")
    ultra_rect = YOLO(str(dynamic), task="detect")
    kw = {"conf": args.conf, "iou": IOU, "imgsz": args.imgsz, "verbose": False}
    ready = np.random.default_rng(0).random((1, 3, args.imgsz, args.imgsz), dtype=np.float32)
    session = ours_sq._session

    # Same answers before timing anything.
    for im, b in zip(images, bgr, strict=True):
        mine = ours_sq.detect(im, score_threshold=args.conf, iou_threshold=IOU)
        (theirs,) = ultra_sq.predict(b, **kw)
        assert len(mine) == len(theirs.boxes), (len(mine), len(theirs.boxes))
    n_boxes = [len(ours_sq.detect(im, score_threshold=args.conf)) for im in images]

    contenders = {
        "ours, static ONNX (square letterbox)": lambda i: ours_sq.detect(
            images[i % n], score_threshold=args.conf, iou_threshold=IOU
        ),
        "ultralytics, static ONNX": lambda i: ultra_sq.predict(bgr[i % n], **kw),
        "ours, dynamic ONNX, rect=True": lambda i: ours_rect.detect(
            images[i % n], score_threshold=args.conf, iou_threshold=IOU
        ),
        "ultralytics, dynamic ONNX (default rect)": lambda i: ultra_rect.predict(bgr[i % n], **kw),
        "bare session.run, ready 640 tensor": lambda i: session.run(None, {"images": ready}),
    }
    ms = time_interleaved(contenders, args.iterations, args.warmup, settle_s=args.settle)
    stage_rows = [
        ("ours", *stage_means(lambda i: our_stages(ours_sq, images[i % n], args.conf), 20)),
        ("ultralytics", *stage_means(lambda i: ultra_sq.predict(bgr[i % n], **kw)[0].speed, 20)),
    ]
    stats = {k: p50_p95(v) for k, v in ms.items()}
    pairs = {
        "ours, static ONNX (square letterbox)": "ultralytics, static ONNX",
        "ours, dynamic ONNX, rect=True": "ultralytics, dynamic ONNX (default rect)",
    }
    rows = []
    for name, (p50, p95) in stats.items():
        ref = pairs.get(name)
        ratio = f"{p50 / stats[ref][0]:.2f} / {p95 / stats[ref][1]:.2f}" if ref else ""
        rows.append((name, p50, p95, ratio))

    print(
        f"\nYOLOv8n (random weights) ONNX, imgsz {args.imgsz}, batch 1, conf {args.conf}, "
        f"iou {IOU}, {args.iterations} iterations round-robin over {n} photos "
        f"(boxes per photo {n_boxes}), {args.settle} s idle before each call, {machine()}, "
        f"ORT intra-op threads: ours {ours_sq._session.get_session_options().intra_op_num_threads},"
        " ultralytics ORT default\n"
    )
    print(markdown_table(["path", "p50 ms", "p95 ms", "ours / ultralytics (p50 / p95)"], rows))
    print("\nWhere the time goes, static ONNX, mean ms (ultralytics: its Results.speed):\n")
    print(markdown_table(["path", *STAGES], stage_rows))
    print(f"\n`{command_line()}`")


if __name__ == "__main__":
    main()
