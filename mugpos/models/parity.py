"""Parity of an ONNX export against its reference library, reported as data.

The Dagster export assets attach these reports to their metadata, so nobody serves an export
that disagrees with the model it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mugpos.detections import Box, Detection
from mugpos.models.catalog import ModelSpec

MIN_IOU = 0.99
MAX_SCORE_DIFF = 1e-3
MIN_COSINE = 0.999


@dataclass(frozen=True)
class ParityReport:
    passed: bool
    compared: int  # boxes or embeddings compared
    unmatched: int
    worst_iou: float | None = None
    worst_score_diff: float | None = None
    worst_cosine: float | None = None

    def as_metadata(self) -> dict[str, float | int | bool]:
        return {f"parity/{k}": v for k, v in asdict(self).items() if v is not None}


def match_detections(ours: Sequence[Detection], ref: Sequence[Detection]) -> ParityReport:
    """Greedy one-to-one matching by class and IoU; every box must find its twin."""
    used: set[int] = set()
    worst_iou, worst_diff, unmatched = 1.0, 0.0, 0
    for d in ours:
        best, best_iou = None, 0.0
        for j, r in enumerate(ref):
            if j in used or r.raw_label != d.raw_label:
                continue
            iou = d.box.iou(r.box)
            if iou > best_iou:
                best, best_iou = j, iou
        if best is None or best_iou < MIN_IOU:
            unmatched += 1
            continue
        used.add(best)
        worst_iou = min(worst_iou, best_iou)
        worst_diff = max(worst_diff, abs(d.score - ref[best].score))
    unmatched += len(ref) - len(used)
    compared = len(used)
    return ParityReport(
        passed=unmatched == 0 and worst_diff <= MAX_SCORE_DIFF,
        compared=compared,
        unmatched=unmatched,
        worst_iou=round(worst_iou, 6) if compared else None,
        worst_score_diff=round(worst_diff, 6) if compared else None,
    )


def yolo_parity(
    spec: ModelSpec, onnx_path: Path, images: Sequence[np.ndarray], *, conf: float = 0.25
) -> ParityReport:
    """Our ONNX Runtime path against ``ultralytics.YOLO(onnx).predict`` at the same thresholds."""
    from ultralytics import YOLO

    from mugpos.models.yolo_native import offline_ultralytics
    from mugpos.models.yolo_onnx import YoloOnnxDetector

    detector = YoloOnnxDetector(spec, onnx_path, rect=True)  # as served, as ultralytics does
    # One image per call on both sides: rect letterboxing depends on the batch's shapes.
    ours = [detector.detect(im, score_threshold=conf, iou_threshold=0.7) for im in images]
    reports = []
    with offline_ultralytics():
        model = YOLO(str(onnx_path), task="detect")
        for image, dets in zip(images, ours, strict=True):
            bgr = np.ascontiguousarray(image[..., ::-1])
            res = model.predict(bgr, conf=conf, iou=0.7, imgsz=detector.input_hw[0], verbose=False)[
                0
            ]
            names = res.names
            ref = [
                Detection(
                    label=names[int(c)],
                    raw_label=names[int(c)],
                    score=float(s),
                    box=Box.from_xyxy(b.tolist()),
                )
                for b, s, c in zip(res.boxes.xyxy.cpu().numpy(), res.boxes.conf.cpu().numpy(),
                                   res.boxes.cls.cpu().numpy(), strict=True)
            ]  # fmt: skip
            reports.append(match_detections(dets, ref))
    return _combine(reports)


def embedding_parity(a: np.ndarray, b: np.ndarray) -> ParityReport:
    """Row-wise cosine of two embedding matrices (e.g. ONNX against torch)."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    cos = (a * b).sum(axis=1)
    worst = float(cos.min()) if len(cos) else 1.0
    return ParityReport(
        passed=worst >= MIN_COSINE, compared=len(cos), unmatched=0, worst_cosine=round(worst, 6)
    )


def _combine(reports: Sequence[ParityReport]) -> ParityReport:
    ious = [r.worst_iou for r in reports if r.worst_iou is not None]
    diffs = [r.worst_score_diff for r in reports if r.worst_score_diff is not None]
    return ParityReport(
        passed=all(r.passed for r in reports),
        compared=sum(r.compared for r in reports),
        unmatched=sum(r.unmatched for r in reports),
        worst_iou=min(ious) if ious else None,
        worst_score_diff=max(diffs) if diffs else None,
    )
