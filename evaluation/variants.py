"""Model variants: a catalog detector at one score threshold, named ``<model id>@<threshold>``.

A variant is what the API would serve (model + threshold), so that is what gets compared and
gated. The default set covers every catalog detector; YOLO variants fail with the model store's
"put this file there" error where their weights cannot be fetched (here: no hub access).
"""

from __future__ import annotations

from dataclasses import dataclass

from mugpos.models.catalog import CATALOG, get_spec

# Per detector family, the thresholds worth comparing: SSD scores run low (0.3-0.7 on real cups).
THRESHOLDS: dict[str, tuple[float, ...]] = {"ssd": (0.3, 0.5, 0.7), "yolo": (0.25,)}


@dataclass(frozen=True, order=True)
class Variant:
    model_id: str
    threshold: float

    @property
    def key(self) -> str:
        return f"{self.model_id}@{self.threshold:g}"

    @property
    def slug(self) -> str:
        """File- and MLflow-name-safe form."""
        return self.key.replace("@", "_at_").replace(".", "p")

    @classmethod
    def parse(cls, key: str) -> Variant:
        model_id, sep, thr = key.rpartition("@")
        if not sep or not model_id:
            raise ValueError(f"variant {key!r} is not <model id>@<threshold>")
        spec = get_spec(model_id)
        if "detect" not in spec.tasks:
            raise ValueError(f"{model_id} is not a detector")
        value = float(thr)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"threshold {value} outside 0..1")
        return cls(model_id, value)


def default_variants() -> list[Variant]:
    return [
        Variant(spec.id, t)
        for spec in CATALOG.values()
        if "detect" in spec.tasks
        for t in THRESHOLDS.get(spec.family, (0.3,))
    ]
