"""Per-class and per-size detection metrics: what a wide desk photo needs to be judged on.

A mug that is 30 px wide in a 1366 px photo is a COCO "small" object; one detector can be fine
on large mugs and blind to small ones, so AP@0.5, AP@[.5:.95] and recall are reported for each
class and for each COCO size bucket (small < 32² px² <= medium < 96² px² <= large), from one
``faster-coco-eval`` run over every class. Recall is at the variant's own score threshold (the
detector reports nothing below it), at IoU 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from evaluation.dataset import EvalDataset
from evaluation.detection_metrics import match, ratio
from mugpos.detections import Detection

# Classes reported when the set has ground truth for them (the four first).
EVAL_LABELS = ("mug", "laptop", "keyboard", "monitor", "mouse", "book", "bottle")
# COCO's area ranges, in the order its evaluator holds them after "all".
SIZE_BUCKETS = ("small", "medium", "large")


def class_metrics(
    ds: EvalDataset,
    predictions: Sequence[Sequence[Detection]],
    labels: Sequence[str] = EVAL_LABELS,
) -> dict[str, float]:
    """``<label>_{ap50,ap,recall,precision,gt}`` and ``<label>_<bucket>_{ap50,ap,recall,gt}``
    for every label with ground truth in ``ds`` (NaN where a bucket has none)."""
    present = [lb for lb in labels if any(o.label == lb for ex in ds.examples for o in ex.objects)]
    if not present:
        return {}
    out: dict[str, float] = {}
    ev = _coco_eval(ds, predictions, present)
    for k, label in enumerate(present):
        gts = [[o.box for o in ex.objects if o.label == label] for ex in ds.examples]
        out[f"{label}_gt"] = float(sum(len(g) for g in gts))
        tp = fp = 0
        for g, dets in zip(gts, predictions, strict=True):
            mine = [d for d in dets if d.label == label]
            matched = len(match(g, [d.box.as_tuple() for d in mine], [d.score for d in mine]))
            tp, fp = tp + matched, fp + len(mine) - matched
        out[f"{label}_precision"] = ratio(tp, tp + fp)
        for a, bucket in enumerate(("", *SIZE_BUCKETS)):
            prefix = f"{label}_{bucket}_" if bucket else f"{label}_"
            n = sum(not bucket or _bucket(box) == bucket for g in gts for box in g)
            ap50, ap, rec = _area_stats(ev, k, a) if n else (math.nan,) * 3
            out[f"{prefix}ap50"], out[f"{prefix}ap"], out[f"{prefix}recall"] = ap50, ap, rec
            if bucket:
                out[f"{prefix}gt"] = float(n)
    return out


def _bucket(box: Sequence[float]) -> str:
    area = (box[2] - box[0]) * (box[3] - box[1])
    return "small" if area < 32**2 else "medium" if area < 96**2 else "large"


def _coco_eval(
    ds: EvalDataset, predictions: Sequence[Sequence[Detection]], labels: Sequence[str]
) -> Any:
    from faster_coco_eval import COCO, COCOeval_faster

    cat = {lb: i + 1 for i, lb in enumerate(labels)}
    images, anns, results = [], [], []
    for i, (ex, dets) in enumerate(zip(ds.examples, predictions, strict=True), start=1):
        images.append({"id": i, "width": ex.width, "height": ex.height, "file_name": ex.id})
        for o in ex.objects:
            if o.label in cat:
                anns.append({**_ann(i, o.box, cat[o.label]), "id": len(anns) + 1, "iscrowd": 0})
        for d in dets:
            if d.label in cat:
                results.append({**_ann(i, d.box.as_tuple(), cat[d.label]), "score": d.score})
    gt = COCO()
    gt.dataset = {
        "images": images,
        "annotations": anns,
        "categories": [{"id": v, "name": k} for k, v in cat.items()],
    }
    gt.createIndex()
    if not results:
        return None
    ev = COCOeval_faster(gt, gt.loadRes(results), iouType="bbox", print_function=lambda *_: None)
    ev.evaluate()
    ev.accumulate()
    return ev


def _ann(image_id: int, box: Sequence[float], category: int) -> dict[str, Any]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return {
        "image_id": image_id,
        "category_id": category,
        "bbox": [x1, y1, x2 - x1, y2 - y1],
        "area": (x2 - x1) * (y2 - y1),
    }


def _area_stats(ev: Any, k: int, a: int) -> tuple[float, float, float]:
    """(AP@0.5, AP@[.5:.95], recall@0.5) of category index ``k`` in area range ``a``
    (0 all, 1 small, 2 medium, 3 large), for a range that has ground truth."""
    if ev is None:  # nothing predicted at all
        return 0.0, 0.0, 0.0
    prec = np.asarray(ev.eval["precision"])[:, :, k, a, -1]  # T x R at maxDets 100
    rec = np.asarray(ev.eval["recall"])[:, k, a, -1]  # T
    if rec[0] < 0:  # -1: no ground truth in this range
        return math.nan, math.nan, math.nan
    valid = prec[prec > -1]
    ap = float(valid.mean()) if valid.size else 0.0
    p50 = prec[0][prec[0] > -1]
    return float(p50.mean()) if p50.size else 0.0, ap, float(rec[0])
