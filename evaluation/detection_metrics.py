"""Detection metrics for one label: COCO AP from a maintained library, plus the operating point.

AP@0.5 and AP@[.5:.95] come from ``faster-coco-eval`` (a maintained, pycocotools-compatible
implementation) rather than hand-written code. Precision, recall and centre error are at the
variant's own score threshold (what the API would serve), with COCO's greedy matching:
predictions best score first, each to the unmatched ground truth of highest IoU >= 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evaluation.dataset import Xyxy

IOU_MATCH = 0.5


@dataclass(frozen=True)
class Match:
    pred: int
    gt: int
    iou: float


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(
    gt: Sequence[Xyxy], preds: Sequence[Xyxy], scores: Sequence[float], thr: float = IOU_MATCH
) -> list[Match]:
    """Greedy one-to-one matching (COCO's rule): best-scored prediction first."""
    order = sorted(range(len(preds)), key=lambda i: -scores[i])
    taken: set[int] = set()
    out = []
    for p in order:
        best, best_iou = -1, thr
        for g, box in enumerate(gt):
            if g in taken:
                continue
            v = iou(preds[p], box)
            if v >= best_iou:
                best, best_iou = g, v
        if best >= 0:
            taken.add(best)
            out.append(Match(p, best, best_iou))
    return out


@dataclass(frozen=True)
class CocoResult:
    ap: float  # AP@[.5:.95]
    ap50: float
    recall_points: list[float]  # COCO's 101 recall thresholds
    precision_at_50: list[float]  # interpolated precision at IoU 0.5 (NaN where undefined)


def coco_ap(gt: dict, results: list[dict]) -> CocoResult:
    """COCO bbox AP of one category. NaN when there is no ground truth at all (AP undefined);
    0 when there is ground truth but no prediction."""
    from faster_coco_eval import COCO, COCOeval_faster

    nan = float("nan")
    if not gt["annotations"]:
        return CocoResult(nan, nan, [], [])
    points = [i / 100 for i in range(101)]
    if not results:
        return CocoResult(0.0, 0.0, points, [0.0] * len(points))
    coco_gt = COCO()
    coco_gt.dataset = gt
    coco_gt.createIndex()
    coco_dt = coco_gt.loadRes(results)
    ev = COCOeval_faster(coco_gt, coco_dt, iouType="bbox", print_function=_quiet)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    # precision[T, R, K, A, M]: IoU 0.5, all recall points, the one class, all areas, 100 dets.
    prec = np.asarray(ev.eval["precision"])[0, :, 0, 0, -1]
    curve = [float(p) if p >= 0 else nan for p in prec]
    return CocoResult(
        ap=_clean(ev.stats[0]),
        ap50=_clean(ev.stats[1]),
        recall_points=[float(r) for r in ev.params.recThrs],
        precision_at_50=curve,
    )


def _clean(v: float) -> float:
    v = float(v)
    return v if v >= 0 else float("nan")


def _quiet(*_: object) -> None:
    return None


def ratio(num: float, den: float) -> float:
    return num / den if den else float("nan")


def f1(tp: float, fp: float, fn: float) -> float:
    """From counts: 2TP / (2TP + FP + FN), so a variant that predicts nothing scores 0, not an
    undefined precision; NaN only when there is nothing to find and nothing predicted."""
    return ratio(2 * tp, 2 * tp + fp + fn)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")
