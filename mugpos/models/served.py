"""The detector variant this machine would serve, for tools that run the engine directly.

The CLI answers like the API: the variant the model manifest names (the promoted champion),
else the configured one; explicit options override either part. The API itself follows the
manifest through its model registry.
"""

from __future__ import annotations

import logging

from mugpos.manifest import MANIFEST_NAME, ServedVariant, read_manifest
from mugpos.models.base import Detector
from mugpos.models.variant import DetectorVariant, configured_variant
from mugpos.settings import Settings

log = logging.getLogger(__name__)


def manifest_served(settings: Settings) -> ServedVariant | None:
    """The manifest's served variant, or None without a (readable) manifest."""
    path = settings.model_cache_dir / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return read_manifest(path).served
    except (OSError, ValueError) as exc:
        log.warning("model manifest %s unreadable (%s): using the configured variant", path, exc)
        return None


def local_variant(
    settings: Settings,
    *,
    model: str | None = None,
    threshold: float | None = None,
    tiling: str | None = None,
) -> tuple[DetectorVariant, str]:
    """The variant to run and where it came from (for the user to read)."""
    served = manifest_served(settings)
    base, source = (
        (served.variant, f"manifest ({served.source})")
        if served is not None
        else (configured_variant(settings), "settings")
    )
    if model is not None and model != base.model_id:
        base = DetectorVariant(model, settings.detector_threshold, base.tiling)
    chosen = DetectorVariant(
        base.model_id,
        base.threshold if threshold is None else threshold,
        base.tiling if tiling is None else tiling,
    )
    overridden = chosen != base
    return chosen, source + (", overridden by options" if overridden else "")


def load_variant(variant: DetectorVariant, settings: Settings) -> Detector:
    from mugpos.models.loader import load_detector

    return variant.wrap(load_detector(variant.model_id, settings=settings))
