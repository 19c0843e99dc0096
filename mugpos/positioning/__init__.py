"""Positioning: where every mug is, which rules it breaks, and the smallest move that fixes it.

Names are imported lazily so that ``mugpos.rules`` and ``mugpos.positioning`` can import each
other's leaf modules without an import cycle.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "position_scene": "mugpos.positioning.scene",
    "describe": "mugpos.positioning.scene",
    "build_frame": "mugpos.positioning.frame",
    "SceneFrame": "mugpos.positioning.frame",
    "SceneError": "mugpos.positioning.frame",
    "Grid": "mugpos.positioning.zones",
    "ZoneError": "mugpos.positioning.zones",
    "Target": "mugpos.positioning.targets",
    "plan_moves": "mugpos.positioning.suggest",
    "suggest_moves": "mugpos.positioning.suggest",
    "score_scene": "mugpos.positioning.score",
    "SceneLayout": "mugpos.positioning.models",
    "MugPosition": "mugpos.positioning.models",
    "Suggestion": "mugpos.positioning.models",
    "Scores": "mugpos.positioning.models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
