"""The harness: run a predictor over a dataset, score every image, aggregate the metrics.

Framework-free (no Dagster, no MLflow): the Dagster assets, the benchmark CLI and the tests all
call :func:`evaluate`, and log its :class:`Report` wherever they like.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evaluation.class_metrics import class_metrics
from evaluation.coco import gt_to_coco, predictions_to_coco
from evaluation.dataset import EvalDataset
from evaluation.detection_metrics import CocoResult, coco_ap, f1, percentile, ratio
from evaluation.predictors import Predictor, options_for
from evaluation.scoring import score_example
from mugpos.detections import Detection

STAGES = ("decode", "detect", "position", "rules", "suggest", "score", "total")
# The metrics the champion gate compares (higher is better), in the order reports show them.
KEY_METRICS = ("mug_ap50", "mug_recall", "rule_f1")


@dataclass
class Report:
    dataset: str
    dataset_version: str
    predictor: str
    threshold: float
    metrics: dict[str, float]
    records: list[dict[str, Any]]
    coco: CocoResult
    predictions: list[list[Detection]] = field(repr=False, default_factory=list)
    seconds: float = 0.0

    def finite_metrics(self) -> dict[str, float]:
        """Metrics with a value (NaN means undefined here, e.g. precision with no prediction)."""
        return {k: v for k, v in self.metrics.items() if not math.isnan(v)}


def evaluate(
    ds: EvalDataset,
    predictor: Predictor,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    start = time.perf_counter()
    records, predictions = [], []
    for i, ex in enumerate(ds.examples, start=1):
        result = predictor(ex, options_for(ds, ex, predictor.threshold))
        records.append(score_example(ds, ex, result))
        predictions.append(list(result.detections))
        if progress is not None:
            progress(i, len(ds.examples))
    coco = coco_ap(gt_to_coco(ds), predictions_to_coco(predictions))
    metrics = aggregate(records, coco)
    for k, v in class_metrics(ds, predictions).items():
        metrics.setdefault(k, v)  # the mug figures above are the same numbers by construction
    return Report(
        dataset=ds.name,
        dataset_version=ds.version,
        predictor=predictor.name,
        threshold=predictor.threshold,
        metrics=metrics,
        records=records,
        coco=coco,
        predictions=predictions,
        seconds=time.perf_counter() - start,
    )


def aggregate(records: list[dict[str, Any]], coco: CocoResult) -> dict[str, float]:
    def total(key: str) -> float:
        return float(sum(r.get(key, 0) for r in records))

    tp, fp, fn = total("tp"), total("fp"), total("fn")
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    matched = [r for r in records if r["tp"]]
    # Centre errors are averaged over matched mugs, not images (weights by tp).
    err_px = ratio(sum(r["centre_err_px"] * r["tp"] for r in matched), tp)
    err_pct = ratio(sum(r["centre_err_pct"] * r["tp"] for r in matched), tp)
    m: dict[str, float] = {
        "images": float(len(records)),
        "gt_mugs": tp + fn,
        "pred_mugs": tp + fp,
        "mug_tp": tp,
        "mug_fp": fp,
        "mug_fn": fn,
        "mug_precision": precision,
        "mug_recall": recall,
        "mug_f1": f1(tp, fp, fn),
        "mug_ap50": coco.ap50,
        "mug_ap": coco.ap,
        "centre_error_px": err_px,
        "centre_error_pct": err_pct,
        "zone_accuracy": ratio(total("zone_hits"), total("zone_total")),
    }
    if any("rule_tp" in r for r in records):
        rtp, rfp, rfn = total("rule_tp"), total("rule_fp"), total("rule_fn")
        rp, rr = ratio(rtp, rtp + rfp), ratio(rtp, rtp + rfn)
        m.update(rule_precision=rp, rule_recall=rr, rule_f1=f1(rtp, rfp, rfn))
    if any("suggestions" in r for r in records):
        n = total("suggestions")
        m["suggestions"] = n
        m["suggestion_resolve_rate"] = ratio(total("suggestions_resolved"), n)
        m["suggestion_feasible_rate"] = ratio(total("suggestions_feasible"), n)
    for stage in STAGES:
        values = [r[f"ms_{stage}"] for r in records if f"ms_{stage}" in r]
        m[f"latency_{stage}_p50_ms"] = percentile(values, 50)
        m[f"latency_{stage}_p95_ms"] = percentile(values, 95)
    return m
