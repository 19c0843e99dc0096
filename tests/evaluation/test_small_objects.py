"""Small mugs on wide desks: what tiling buys with the offline detector, through the API's path.

The figures of the full 48-image set and every variant live in docs/evaluation.md (with the
command that made them); this test holds the direction on a 16-image slice so a change that
breaks tiling, the merge or the metrics fails here.
"""

from __future__ import annotations

import pytest

from evaluation.desk_composites import build_desk_dataset
from evaluation.harness import Report, evaluate
from evaluation.predictors import DetectorPredictor
from evaluation.sources import SourceCache
from evaluation.variants import Variant
from mugpos.settings import Settings


@pytest.fixture(scope="module")
def reports(ssd) -> dict[str, Report]:  # type: ignore[no-untyped-def]
    ds = build_desk_dataset(16, cache=SourceCache.from_settings(Settings()))
    keys = ("ssd-mobilenetv2-oidv4@0.3", "ssd-mobilenetv2-oidv4@0.3+tiled")
    fine = "ssd-mobilenetv2-oidv4@0.3+tiled-fine"
    return {k: evaluate(ds, DetectorPredictor(ssd, Variant.parse(k))) for k in (*keys, fine)}


def test_full_image_detection_misses_the_small_mugs(reports: dict[str, Report]) -> None:
    full = reports["ssd-mobilenetv2-oidv4@0.3"].metrics
    assert full["gt_mugs"] >= 25
    assert full["mug_recall"] < 0.15


def test_tiles_find_small_mugs_without_flooding_false_ones(reports: dict[str, Report]) -> None:
    full = reports["ssd-mobilenetv2-oidv4@0.3"].metrics
    tiled = reports["ssd-mobilenetv2-oidv4@0.3+tiled"].metrics
    fine = reports["ssd-mobilenetv2-oidv4@0.3+tiled-fine"].metrics
    assert tiled["mug_recall"] > full["mug_recall"]
    assert fine["mug_recall"] >= max(0.35, 3 * full["mug_recall"])
    assert fine["mug_ap50"] > tiled["mug_ap50"] > full["mug_ap50"]
    assert fine["mug_precision"] >= 0.6
    # Most of the gain is in COCO's small and medium buckets, where the mugs are.
    assert fine["mug_medium_recall"] > full["mug_medium_recall"] + 0.3


def test_tiling_keeps_the_large_objects_the_full_image_finds(reports: dict[str, Report]) -> None:
    full = reports["ssd-mobilenetv2-oidv4@0.3"].metrics
    for key in ("ssd-mobilenetv2-oidv4@0.3+tiled", "ssd-mobilenetv2-oidv4@0.3+tiled-fine"):
        m = reports[key].metrics
        assert m["laptop_recall"] >= full["laptop_recall"], key
        assert m["laptop_precision"] >= 0.7, key


def test_metrics_come_by_class_and_by_size(reports: dict[str, Report]) -> None:
    m = reports["ssd-mobilenetv2-oidv4@0.3+tiled"].metrics
    for label in ("mug", "laptop", "keyboard", "monitor"):
        for k in ("ap50", "ap", "recall", "precision", "gt"):
            assert f"{label}_{k}" in m, f"{label}_{k}"
    for bucket in ("small", "medium", "large"):
        assert f"mug_{bucket}_gt" in m and f"mug_{bucket}_recall" in m
    assert m["mug_small_gt"] + m["mug_medium_gt"] + m["mug_large_gt"] == m["mug_gt"]
    # The SSD has no keyboard class: keyboards are there to find and it finds none.
    assert m["keyboard_gt"] > 0 and m["keyboard_recall"] == 0.0
