"""Score one analysis against one example's ground truth: a flat per-image record.

Everything after detection is judged on the mugs the detector found (matched at IoU >= 0.5):
centre error, zone, rule verdicts and suggestions. Rule verdicts treat "violated" as the
positive class: a missed mug's violations are false negatives, a phantom mug's violations are
false positives. A suggestion "resolves" when its move, applied to the real (ground-truth) box
together with the other suggested moves, leaves that mug with no violated rule by the
independent truth of :mod:`evaluation.truth` — not by the engine's own claim (``feasible``,
reported beside it).
"""

from __future__ import annotations

import json
import math
from typing import Any

from evaluation.dataset import EvalDataset, Example, GtObject
from evaluation.detection_metrics import match
from evaluation.truth import truth_verdicts, zone_of
from mugpos.analysis import AnalysisResult
from mugpos.labels import MUG


def score_example(ds: EvalDataset, ex: Example, result: AnalysisResult) -> dict[str, Any]:
    gt_mugs = [o.box for o in ex.mugs]
    pred_idx = [i for i, d in enumerate(result.detections) if d.label == MUG]
    preds = [result.detections[i] for i in pred_idx]
    matches = match(gt_mugs, [d.box.as_tuple() for d in preds], [d.score for d in preds])
    # detection index -> matched ground-truth mug index
    gt_of_det = {pred_idx[m.pred]: m.gt for m in matches}
    diag = math.hypot(ex.width, ex.height)
    errors = [_centre_distance(preds[m.pred].box.as_tuple(), gt_mugs[m.gt]) for m in matches]
    rec: dict[str, Any] = {
        "id": ex.id,
        "width": ex.width,
        "height": ex.height,
        "gt_mugs": len(gt_mugs),
        "pred_mugs": len(preds),
        "tp": len(matches),
        "fp": len(preds) - len(matches),
        "fn": len(gt_mugs) - len(matches),
        "mean_iou": _mean([m.iou for m in matches]),
        "centre_err_px": _mean(errors),
        "centre_err_pct": _mean([100.0 * e / diag for e in errors]),
        "gt_boxes": json.dumps([list(b) for b in gt_mugs]),
        "pred_boxes": json.dumps([[*d.box.as_tuple(), d.score] for d in preds]),
    }
    rec.update(_zones(ex, result, gt_of_det))
    rec.update(_verdicts(ds, ex, result, gt_of_det))
    rec.update(_suggestions(ds, ex, result, gt_of_det))
    rec.update({f"ms_{k}": float(v) for k, v in result.timings_ms.items()})
    return rec


def _centre_distance(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return math.hypot((a[0] + a[2] - b[0] - b[2]) / 2.0, (a[1] + a[3] - b[1] - b[3]) / 2.0)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _work_area(ex: Example) -> tuple[float, float, float, float]:
    return ex.work_area or (0.0, 0.0, float(ex.width), float(ex.height))


def _zones(ex: Example, result: AnalysisResult, gt_of_det: dict[int, int]) -> dict[str, int]:
    """Zone of each matched mug, against the zone of its true box in the true work area."""
    hits = total = 0
    wa = _work_area(ex)
    for mug in result.layout.mugs:
        g = gt_of_det.get(mug.detection)
        if g is None:
            continue
        total += 1
        hits += mug.zone == zone_of(ex.mugs[g].box, wa)
    return {"zone_hits": hits, "zone_total": total}


def _verdicts(
    ds: EvalDataset, ex: Example, result: AnalysisResult, gt_of_det: dict[int, int]
) -> dict[str, int]:
    if not ds.rules:
        return {}
    truth = {(v.rule_id, v.mug): v.status == "violated" for v in ex.verdicts}
    judged = {rule.id for rule in ds.rules}  # the implicit work-area check has no truth here
    said: dict[tuple[str, int], bool] = {}  # keyed by ground-truth mug
    tp = fp = fn = tn = 0
    for r in result.rule_results:
        if r.mug is None or r.rule_id not in judged:
            continue
        g = gt_of_det.get(result.layout.mugs[r.mug].detection)
        violated = r.status == "violated"
        if g is None:  # a phantom mug: anything it "violates" is a false alarm
            fp += violated
            continue
        said[(r.rule_id, g)] = violated
    for key, real in truth.items():
        pred = said.get(key, False)  # a missed mug flags nothing
        tp += real and pred
        fp += pred and not real
        fn += real and not pred
        tn += not real and not pred
    return {"rule_tp": tp, "rule_fp": fp, "rule_fn": fn, "rule_tn": tn}


def _suggestions(
    ds: EvalDataset, ex: Example, result: AnalysisResult, gt_of_det: dict[int, int]
) -> dict[str, int]:
    if not ds.rules or ex.work_area is None:
        return {}
    moved = [o.box for o in ex.mugs]
    asked: list[int] = []
    feasible = 0
    for s in result.suggestions:
        g = gt_of_det.get(result.layout.mugs[s.mug].detection)
        if not s.needed or g is None:
            continue
        x1, y1, x2, y2 = moved[g]
        dx, dy = s.move.dx_px, s.move.dy_px
        moved[g] = (x1 + dx, y1 + dy, x2 + dx, y2 + dy)
        asked.append(g)
        feasible += s.feasible
    if not asked:
        return {"suggestions": 0, "suggestions_resolved": 0, "suggestions_feasible": 0}
    objects = [o for o in ex.objects if o.label != MUG] + [GtObject(MUG, b) for b in moved]
    after = truth_verdicts(objects, ex.work_area, ex.mm_per_px, ds.rules)
    still = {v.mug for v in after if v.status == "violated"}
    return {
        "suggestions": len(asked),
        "suggestions_resolved": sum(g not in still for g in asked),
        "suggestions_feasible": feasible,
    }
