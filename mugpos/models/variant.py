"""A detector variant: what is evaluated, gated and served — a catalog detector, its score
threshold and how it tiles, named ``<model id>@<threshold>[+<tiling>]``.

The evaluation compares variants, the champion gate promotes one, the model manifest names the
champion and the API builds exactly that from it, so "the champion" is one thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from mugpos.models.base import Detector
from mugpos.models.catalog import get_spec
from mugpos.models.tiling import TiledDetector, TilingConfig
from mugpos.settings import Settings

FULL = "full"
TILED = "tiled"
TILED_FINE = "tiled-fine"
# Named tiling settings: short keys for variants; the settings themselves are logged with every
# evaluation and written into the manifest, so a key never hides what ran. "tiled": tiles of the
# model's input size (300 px for the SSD); "tiled-fine" adds a level of half-size tiles that the
# model sees twice as large (mugs of 15-40 px), at about four times the passes (up to 160 per
# level: a 1920 x 1080 photo takes about 190 passes in all).
TILING_PRESETS: dict[str, TilingConfig] = {
    FULL: TilingConfig(mode="off"),
    TILED: TilingConfig(mode="auto"),
    TILED_FINE: TilingConfig(mode="auto", zoom=(1.0, 2.0), max_tiles=160),
}


@dataclass(frozen=True, order=True)
class DetectorVariant:
    model_id: str
    threshold: float
    tiling: str = FULL

    def __post_init__(self) -> None:
        if self.tiling not in TILING_PRESETS:
            raise ValueError(
                f"unknown tiling {self.tiling!r}: one of {', '.join(sorted(TILING_PRESETS))}"
            )
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold {self.threshold} outside 0..1")

    @property
    def key(self) -> str:
        base = f"{self.model_id}@{self.threshold:g}"
        return base if self.tiling == FULL else f"{base}+{self.tiling}"

    @property
    def slug(self) -> str:
        """File- and MLflow-name-safe form."""
        return self.key.replace("@", "_at_").replace(".", "p").replace("+", "_")

    @property
    def tiling_config(self) -> TilingConfig:
        return TILING_PRESETS[self.tiling]

    @classmethod
    def parse(cls, key: str) -> DetectorVariant:
        head, _, tiling = key.partition("+")
        model_id, sep, thr = head.rpartition("@")
        if not sep or not model_id:
            raise ValueError(f"variant {key!r} is not <model id>@<threshold>[+<tiling>]")
        spec = get_spec(model_id)
        if "detect" not in spec.tasks:
            raise ValueError(f"{model_id} is not a detector")
        try:
            value = float(thr)
        except ValueError:
            raise ValueError(f"variant {key!r}: threshold {thr!r} is not a number") from None
        return cls(model_id, value, tiling or FULL)

    def wrap(self, detector: Detector) -> Detector:
        """The detector as this variant runs it (tiled or not)."""
        if detector.id != self.model_id:
            raise ValueError(f"variant {self.key} needs {self.model_id}, not {detector.id}")
        cfg = self.tiling_config
        return detector if cfg.mode == "off" else TiledDetector(detector, cfg)


def configured_variant(settings: Settings) -> DetectorVariant:
    """The variant the settings name: the candidate to gate, and what serves before any
    champion exists."""
    return DetectorVariant(settings.detector, settings.detector_threshold, settings.detector_tiling)
