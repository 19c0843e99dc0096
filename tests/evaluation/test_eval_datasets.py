"""Datasets: deterministic, versioned by content, exact boxes, honest hand annotations."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from evaluation.composite import background, build_composite_dataset, cup_cutout
from evaluation.dataset import load_dataset, save_dataset
from evaluation.real_photos import ANNOTATIONS, build_real_dataset
from evaluation.scene_set import build_scene_dataset
from evaluation.truth import TEST_RULES
from mugpos.samples import COFFEE_CUP_BOX


def test_scene_set_is_deterministic_and_versioned_by_content() -> None:
    a = build_scene_dataset(4, width=320, height=240)
    b = build_scene_dataset(4, width=320, height=240)
    assert a.version == b.version
    assert build_scene_dataset(4, seed=7, width=320, height=240).version != a.version
    b.examples[0].image[0, 0, 0] ^= 1  # one bit of one pixel
    assert b.version != a.version


def test_scene_set_has_every_rule_verdict_and_both_outcomes() -> None:
    ds = build_scene_dataset(16, width=320, height=240)
    for ex in ds.examples:
        assert len(ex.verdicts) == len(TEST_RULES) * len(ex.mugs)
        assert ex.work_area is not None and ex.mm_per_px and ex.mm_per_px > 0
        assert {o.label for o in ex.objects} >= {"mug", "table"}
    seen = Counter(v.status for ex in ds.examples for v in ex.verdicts)
    assert seen["violated"] >= 10 and seen["satisfied"] >= 10


def test_save_and_load_round_trip_and_detect_tampering(tmp_path: Path) -> None:
    ds = build_scene_dataset(3, width=160, height=120)
    path = save_dataset(ds, tmp_path / "scenes")
    back = load_dataset(path)
    assert back.version == ds.version
    assert back.rules == ds.rules
    assert back.examples[1].verdicts == ds.examples[1].verdicts
    np.testing.assert_array_equal(back.examples[2].image, ds.examples[2].image)
    doc = json.loads((path / "dataset.json").read_text())
    doc["examples"][0]["objects"][0]["box"][0] += 1.0
    (path / "dataset.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="content hash"):
        load_dataset(path)


def test_composite_boxes_are_the_pasted_cup_exactly() -> None:
    ds = build_composite_dataset(8, width=240, height=180)
    assert ds.version == build_composite_dataset(8, width=240, height=180).version
    assert ds.n_mugs >= 6
    cup, alpha = cup_cutout()
    assert alpha.shape == cup.shape[:2] and alpha.max() == 1.0
    for ex in ds.examples:
        for obj, paste in zip(ex.mugs, ex.meta["pastes"], strict=True):
            x1, y1, x2, y2 = obj.box
            # The box lies inside the pasted patch and is at most a pixel or two smaller
            # (alpha >= 0.5 trims only the blurred rim).
            assert paste["x"] <= x1 < x2 <= paste["x"] + paste["w"]
            assert paste["y"] <= y1 < y2 <= paste["y"] + paste["h"]
            assert (paste["w"] - (x2 - x1)) <= 4 and (paste["h"] - (y2 - y1)) <= 4
            assert x1 >= 0 and x2 <= ex.width and y1 >= 0 and y2 <= ex.height
        boxes = [o.box for o in ex.mugs]
        for i, a in enumerate(boxes):  # cups never overlap, so no box hides another
            for b in boxes[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_backgrounds_need_no_download() -> None:
    img = background("brick")
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8


def test_real_photos_annotations_match_the_pixels() -> None:
    ds = build_real_dataset()
    doc = json.loads(ANNOTATIONS.read_text())
    assert [ex.id for ex in ds.examples] == [p["id"] for p in doc["photos"]]
    coffee = next(ex for ex in ds.examples if ex.id == "coffee")
    assert len(coffee.mugs) == 1 and coffee.image.shape == (400, 600, 3)
    # The re-annotated box agrees with the engine's long-standing one (IoU > 0.9).
    from evaluation.detection_metrics import iou

    assert iou(coffee.mugs[0].box, COFFEE_CUP_BOX) > 0.9
    negatives = [ex for ex in ds.examples if not ex.mugs]
    assert len(negatives) >= 6
