"""The COCO loader reads a user's COCO-format set (cup becomes mug, crowds skipped)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from evaluation.coco import load_coco_dataset
from evaluation.harness import evaluate
from evaluation.predictors import OraclePredictor


def _write_coco(root: Path) -> Path:
    (root / "val").mkdir(parents=True)
    images, anns = [], []
    for i, name in enumerate(["a.jpg", "b.png", "c.png"], start=1):
        Image.fromarray(np.full((60, 80, 3), 40 * i, np.uint8)).save(root / "val" / name)
        images.append({"id": 10 + i, "file_name": name, "width": 80, "height": 60})

    def ann(image_id: int, cat: int, bbox: list[float], crowd: int = 0) -> None:
        anns.append(
            {
                "id": len(anns) + 1,
                "image_id": image_id,
                "category_id": cat,
                "bbox": bbox,
                "area": bbox[2] * bbox[3],
                "iscrowd": crowd,
            }
        )

    ann(11, 47, [5, 6, 20, 25])  # a cup
    ann(11, 1, [40, 5, 30, 50])  # a person
    ann(12, 1, [10, 10, 10, 10])  # only a person: not in the cup subset
    ann(13, 47, [30, 20, 15, 15])
    ann(13, 47, [0, 0, 80, 60], crowd=1)  # crowd: ignored
    cats = [{"id": 1, "name": "person"}, {"id": 47, "name": "cup"}]
    path = root / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return path


def test_cup_subset_maps_to_mug_and_skips_crowds(tmp_path: Path) -> None:
    path = _write_coco(tmp_path)
    ds = load_coco_dataset(path, tmp_path / "val")
    assert [ex.id for ex in ds.examples] == ["coco-11", "coco-13"]
    first, second = ds.examples
    assert [(o.label, o.box) for o in first.objects] == [
        ("mug", (5.0, 6.0, 25.0, 31.0)),
        ("person", (40.0, 5.0, 70.0, 55.0)),
    ]
    assert len(second.objects) == 1  # the crowd box is gone
    assert first.image.shape == (60, 80, 3)
    assert load_coco_dataset(path, tmp_path / "val", limit=1).examples[0].id == "coco-11"
    assert len(load_coco_dataset(path, tmp_path / "val", require=()).examples) == 3
    # Ground truth through the harness scores AP 1: the boxes survived the conversion.
    assert evaluate(ds, OraclePredictor()).metrics["mug_ap"] == 1.0
