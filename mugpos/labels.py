"""One canonical label set for every detector's vocabulary.

COCO ``cup`` and Open Images ``Mug``/``Coffee cup`` all become ``mug``; labels that do not
matter to mug positioning keep a lower-cased form of their raw name so nothing is lost.
"""

from __future__ import annotations

MUG = "mug"

# Canonical labels the positioning engine treats as context or work area.
CONTEXT_LABELS = frozenset(
    {"laptop", "keyboard", "mouse", "monitor", "book", "bottle", "phone", "box", "plate"}
)
WORK_AREA_LABELS = frozenset({"table"})

_CANONICAL: dict[str, str] = {
    # COCO (YOLO)
    "cup": MUG,
    "wine glass": "glass",
    "dining table": "table",
    "tv": "monitor",
    "cell phone": "phone",
    "laptop": "laptop",
    "keyboard": "keyboard",
    "mouse": "mouse",
    "book": "book",
    "bottle": "bottle",
    "person": "person",
    "chair": "chair",
    # Open Images v4 (SSD MobileNetV2 from the objectron package)
    "mug": MUG,
    "coffee cup": MUG,
    "computer mouse": "mouse",
    "computer monitor": "monitor",
    "computer keyboard": "keyboard",
    "desk": "table",
    "table": "table",
}


def canonical_label(raw: str) -> str:
    """Map a model's raw label to the canonical vocabulary (case-insensitive)."""
    key = raw.strip().lower()
    return _CANONICAL.get(key, key)
