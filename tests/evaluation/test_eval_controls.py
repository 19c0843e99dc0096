"""Controls that prove the harness: ground truth scores perfectly, known shifts cost known AP."""

from __future__ import annotations

import math

import pytest

from evaluation.harness import evaluate
from evaluation.predictors import OraclePredictor
from evaluation.scene_set import build_scene_dataset


@pytest.fixture(scope="module")
def scenes():  # type: ignore[no-untyped-def]
    return build_scene_dataset(12, width=320, height=240)


def test_ground_truth_as_predictions_is_perfect(scenes) -> None:  # type: ignore[no-untyped-def]
    m = evaluate(scenes, OraclePredictor()).metrics
    assert m["gt_mugs"] == scenes.n_mugs > 12
    for key in ("mug_ap", "mug_ap50", "mug_precision", "mug_recall", "zone_accuracy"):
        assert m[key] == 1.0, key
    assert m["centre_error_px"] == 0.0
    # The engine's verdicts on true boxes equal the independent truth, for every rule and mug.
    assert (m["rule_precision"], m["rule_recall"], m["rule_f1"]) == (1.0, 1.0, 1.0)
    # Applied to the true scene, every move the engine calls feasible resolves all violations.
    assert m["suggestions"] > 5
    assert m["suggestion_resolve_rate"] == pytest.approx(m["suggestion_feasible_rate"])
    assert m["suggestion_resolve_rate"] > 0.8


@pytest.mark.parametrize("axis", [0, 1])
def test_shift_by_a_fifth_keeps_ap50_and_costs_the_strict_thresholds(scenes, axis) -> None:  # type: ignore[no-untyped-def]
    shift = (0.2, 0.0) if axis == 0 else (0.0, 0.2)
    report = evaluate(scenes, OraclePredictor(shift=shift))
    m = report.metrics
    # IoU of a box shifted by a fifth of its side: 0.8 / 1.2 = 0.667, so it matches at the
    # IoU thresholds 0.50, 0.55, 0.60, 0.65 and misses the other six: AP@[.5:.95] = 0.4.
    assert m["mug_ap50"] == 1.0
    assert m["mug_ap"] == pytest.approx(0.4)
    assert m["mug_recall"] == 1.0
    sides = [o.box[2 + axis] - o.box[axis] for ex in scenes.examples for o in ex.mugs]
    assert m["centre_error_px"] == pytest.approx(0.2 * sum(sides) / len(sides))


def test_shift_by_two_fifths_misses_everything(scenes) -> None:  # type: ignore[no-untyped-def]
    m = evaluate(scenes, OraclePredictor(shift=(0.4, 0.0))).metrics
    # IoU 0.6 / 1.4 = 0.43 < 0.5: every prediction is a false positive, every mug missed.
    assert (m["mug_ap50"], m["mug_ap"], m["mug_recall"], m["mug_precision"]) == (0, 0, 0, 0)
    assert m["mug_fp"] == m["mug_fn"] == scenes.n_mugs
    # Missed mugs flag nothing; the phantom mugs' flags are all false alarms.
    assert m["rule_recall"] == 0.0
    assert math.isnan(m["centre_error_px"])


def test_latency_percentiles_cover_every_stage(scenes) -> None:  # type: ignore[no-untyped-def]
    m = evaluate(scenes, OraclePredictor()).metrics
    for stage in ("detect", "position", "rules", "suggest", "total"):
        p50, p95 = m[f"latency_{stage}_p50_ms"], m[f"latency_{stage}_p95_ms"]
        assert 0.0 <= p50 <= p95, stage
    assert m["latency_total_p95_ms"] >= m["latency_rules_p95_ms"]
