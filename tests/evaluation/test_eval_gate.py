"""The champion gate's rule: beat or match within the tolerance; undefined is not a pass."""

from __future__ import annotations

import math

from evaluation.gate import compare, passed


def test_within_tolerance_passes_and_beyond_fails() -> None:
    champ = {"composites": {"mug_ap50": 0.80, "mug_recall": 0.70, "rule_f1": math.nan}}
    same = compare({"composites": {"mug_ap50": 0.79, "mug_recall": 0.70}}, champ, tolerance=0.02)
    assert passed(same)
    assert [f.metric for f in same] == ["mug_ap50", "mug_recall"]  # NaN champion: skipped
    worse = compare({"composites": {"mug_ap50": 0.77, "mug_recall": 0.9}}, champ, tolerance=0.02)
    assert not passed(worse)
    bad = [f for f in worse if not f.ok]
    assert [(f.dataset, f.metric) for f in bad] == [("composites", "mug_ap50")]
    assert "REGRESSION" in bad[0].line()


def test_undefined_candidate_metric_fails_and_unshared_sets_are_ignored() -> None:
    champ = {"scenes": {"rule_f1": 0.5}, "real": {"mug_ap50": 1.0}}
    cand = {"scenes": {"rule_f1": math.nan}, "coco": {"mug_ap50": 0.0}}
    findings = compare(cand, champ)
    assert [(f.dataset, f.metric, f.ok) for f in findings] == [("scenes", "rule_f1", False)]
    assert passed(compare({"scenes": {}}, {}))  # no champion: nothing to regress against
