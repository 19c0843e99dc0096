"""COCO format both ways: load a user's COCO dataset, and write ours for the COCO evaluator.

Loading maps COCO category names through the canonical label set (``cup`` becomes ``mug``), so
the val2017 cup subset evaluates like any other set: ``load_coco_dataset(instances_val2017.json,
val2017/, require=("mug",), limit=200)``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from evaluation.dataset import EvalDataset, Example, GtObject
from mugpos.detections import Detection
from mugpos.labels import MUG, canonical_label

COCO = "coco"


def load_coco_dataset(
    annotations: Path,
    images_dir: Path,
    *,
    name: str = COCO,
    require: Sequence[str] = (MUG,),
    limit: int | None = None,
) -> EvalDataset:
    """Images holding at least one object of a ``require`` label (canonical names; empty: all),
    in image-id order, at most ``limit``. Crowd annotations are skipped (COCO's evaluator
    ignores them too, and we score single objects)."""
    doc = json.loads(Path(annotations).read_text())
    cats = {c["id"]: canonical_label(c["name"]) for c in doc.get("categories", [])}
    by_image: dict[int, list[GtObject]] = {}
    for a in doc.get("annotations", []):
        if a.get("iscrowd"):
            continue
        x, y, w, h = (float(v) for v in a["bbox"])
        by_image.setdefault(a["image_id"], []).append(
            GtObject(cats[a["category_id"]], (x, y, x + w, y + h))
        )
    examples = []
    for img in sorted(doc.get("images", []), key=lambda i: i["id"]):
        objects = by_image.get(img["id"], [])
        if require and not any(o.label in require for o in objects):
            continue
        pixels = np.asarray(Image.open(Path(images_dir) / img["file_name"]).convert("RGB"))
        examples.append(
            Example(
                id=f"coco-{img['id']}",
                image=pixels,
                objects=objects,
                meta={"file_name": img["file_name"], "coco_id": img["id"]},
            )
        )
        if limit is not None and len(examples) >= limit:
            break
    return EvalDataset(
        name=name,
        examples=examples,
        description=f"COCO-format set from {Path(annotations).name} "
        f"({len(examples)} images with {', '.join(require) or 'any label'}).",
    )


def gt_to_coco(ds: EvalDataset, label: str = MUG) -> dict[str, Any]:
    """Ground truth of one label as a COCO dict (image ids 1..n in example order)."""
    images, anns = [], []
    for i, ex in enumerate(ds.examples, start=1):
        images.append({"id": i, "width": ex.width, "height": ex.height, "file_name": ex.id})
        for o in ex.objects:
            if o.label == label:
                anns.append(_ann(len(anns) + 1, i, o.box, label_id=1))
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": label}]}


def predictions_to_coco(
    predictions: Sequence[Sequence[Detection]], label: str = MUG
) -> list[dict[str, Any]]:
    """Detections of one label per example (same order as the ground truth) as COCO results."""
    out = []
    for i, dets in enumerate(predictions, start=1):
        for d in dets:
            if d.label == label:
                out.append({**_ann(0, i, d.box.as_tuple(), label_id=1), "score": float(d.score)})
    for a in out:
        a.pop("id")
    return out


def _ann(ann_id: int, image_id: int, box: Sequence[float], *, label_id: int) -> dict[str, Any]:
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": label_id,
        "bbox": [x1, y1, w, h],
        "area": w * h,
        "iscrowd": 0,
    }
