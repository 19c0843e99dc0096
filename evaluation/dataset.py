"""Evaluation datasets: images with exact ground truth, versioned by content hash, on disk.

One shape for every source (procedural scenes, composites, hand-annotated photos, COCO, API
feedback), so the harness and the metrics never branch on where an example came from. The
version is a sha256 over the decoded pixels and the canonical JSON of the annotations: it
changes exactly when something a metric could see changes (not when PNG encoding does).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mugpos.labels import MUG
from mugpos.rules.schema import Rule

Xyxy = tuple[float, float, float, float]
FORMAT = "mugpos-eval/1"


@dataclass(frozen=True)
class GtObject:
    """One ground-truth object: canonical label and exact box (x1, y1, x2, y2) in pixels."""

    label: str
    box: Xyxy


@dataclass(frozen=True)
class Verdict:
    """The expected status of one rule on one ground-truth mug (index into the mugs list)."""

    rule_id: str
    mug: int
    status: str  # "satisfied" | "violated" | "not_applicable"


@dataclass
class Example:
    """One image with its ground truth. ``work_area`` and ``mm_per_px`` are known for
    procedural scenes only; ``verdicts`` exist when the dataset has a rule set."""

    id: str
    image: np.ndarray
    objects: list[GtObject]
    work_area: Xyxy | None = None
    mm_per_px: float | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def mugs(self) -> list[GtObject]:
        return [o for o in self.objects if o.label == MUG]

    def annotation(self) -> dict[str, Any]:
        """The JSON form of everything but the pixels (what the hash and the file hold)."""
        return {
            "id": self.id,
            "width": self.width,
            "height": self.height,
            "objects": [{"label": o.label, "box": [float(v) for v in o.box]} for o in self.objects],
            "work_area": None if self.work_area is None else [float(v) for v in self.work_area],
            "mm_per_px": self.mm_per_px,
            "verdicts": [[v.rule_id, v.mug, v.status] for v in self.verdicts],
            "meta": self.meta,
        }


@dataclass
class EvalDataset:
    """A named list of examples and the rule set their verdicts refer to."""

    name: str
    examples: list[Example]
    rules: tuple[Rule, ...] = ()
    description: str = ""

    @property
    def version(self) -> str:
        """sha256 (first 16 hex digits) of pixels + annotations + rules, in example order."""
        h = hashlib.sha256()
        h.update(FORMAT.encode())
        h.update(_canonical([r.model_dump(mode="json") for r in self.rules]))
        for ex in self.examples:
            h.update(_canonical(ex.annotation()))
            h.update(str(ex.image.shape).encode())
            h.update(np.ascontiguousarray(ex.image, dtype=np.uint8).tobytes())
        return h.hexdigest()[:16]

    @property
    def n_mugs(self) -> int:
        return sum(len(ex.mugs) for ex in self.examples)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "images": len(self.examples),
            "mugs": self.n_mugs,
            "negatives": sum(not ex.mugs for ex in self.examples),
            "rules": len(self.rules),
            "verdicts": sum(len(ex.verdicts) for ex in self.examples),
        }


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def save_dataset(ds: EvalDataset, directory: Path) -> Path:
    """Write ``dataset.json`` and lossless PNGs into ``directory`` (replaced as a whole, so a
    reader never sees half of an old and half of a new version)."""
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "images").mkdir(parents=True)
    examples = []
    for ex in ds.examples:
        name = f"images/{_safe(ex.id)}.png"
        Image.fromarray(ex.image).save(tmp / name, compress_level=1)
        examples.append({**ex.annotation(), "file": name})
    doc = {
        "format": FORMAT,
        "name": ds.name,
        "version": ds.version,
        "description": ds.description,
        "rules": [r.model_dump(mode="json") for r in ds.rules],
        "examples": examples,
    }
    (tmp / "dataset.json").write_text(json.dumps(doc, indent=1, sort_keys=True))
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)
    return directory


def load_dataset(directory: Path) -> EvalDataset:
    """Read a dataset written by :func:`save_dataset`; raises ``ValueError`` if its content no
    longer matches the version it was saved with (a file edited or corrupted by hand)."""
    doc = json.loads((directory / "dataset.json").read_text())
    if doc.get("format") != FORMAT:
        raise ValueError(f"{directory}: not a {FORMAT} dataset")
    examples = []
    for e in doc["examples"]:
        pixels = np.asarray(Image.open(directory / e["file"]).convert("RGB"))
        examples.append(
            Example(
                id=e["id"],
                image=pixels,
                objects=[GtObject(o["label"], tuple(o["box"])) for o in e["objects"]],
                work_area=None if e["work_area"] is None else tuple(e["work_area"]),
                mm_per_px=e["mm_per_px"],
                verdicts=[Verdict(r, int(m), s) for r, m, s in e["verdicts"]],
                meta=e["meta"],
            )
        )
    ds = EvalDataset(
        name=doc["name"],
        examples=examples,
        rules=tuple(Rule.model_validate(r) for r in doc["rules"]),
        description=doc.get("description", ""),
    )
    if ds.version != doc["version"]:
        raise ValueError(f"{directory}: content hash {ds.version} != saved {doc['version']}")
    return ds


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
