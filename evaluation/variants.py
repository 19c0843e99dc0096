"""Model variants: a catalog detector at one score threshold, full-image or tiled, named
``<model id>@<threshold>[+tiled]`` (see :mod:`mugpos.models.variant`, the same type the
manifest and the API use).

A variant is what the API would serve, so that is what gets compared and gated. The default set
covers every catalog detector; YOLO variants fail with the model store's "put this file there"
error where their weights cannot be fetched (here: no hub access).
"""

from __future__ import annotations

from mugpos.models.catalog import CATALOG
from mugpos.models.variant import FULL, TILED, TILED_FINE, DetectorVariant

Variant = DetectorVariant

# Per detector family, the thresholds worth comparing: SSD scores run low (0.3-0.7 on real cups).
THRESHOLDS: dict[str, tuple[float, ...]] = {"ssd": (0.3, 0.5, 0.7), "yolo": (0.25,)}


def default_variants() -> list[Variant]:
    return [
        Variant(spec.id, t, tiling)
        for spec in CATALOG.values()
        if "detect" in spec.tasks
        for t in THRESHOLDS.get(spec.family, (0.3,))
        for tiling in (FULL, TILED, TILED_FINE)
    ]
