"""Pictures people would rather look at than tables: detections drawn on the photo.

The full analysis picture (zones, clearances, violations, suggested moves) is
:func:`mugpos.render_analysis.draw_analysis`; this module holds what both share: the palette
and the fonts.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mugpos.detections import Detection
from mugpos.labels import MUG

_PALETTE = {
    MUG: (255, 64, 64),
    "laptop": (64, 160, 255),
    "keyboard": (64, 220, 255),
    "mouse": (255, 200, 0),
    "monitor": (160, 96, 255),
    "book": (0, 200, 120),
    "bottle": (255, 128, 200),
    "table": (200, 200, 200),
}
_DEFAULT_COLOUR = (255, 255, 255)


def colour_for(label: str) -> tuple[int, int, int]:
    """One stable colour per canonical label, so a laptop looks the same in every picture."""
    return _PALETTE.get(label, _DEFAULT_COLOUR)


# Pillow's built-in font has no ≥, → or ✗, which rule messages use; DejaVu Sans has them and
# ships with matplotlib (platform extra) and most Linux systems. Without it, text is ASCII-fied.
_SYSTEM_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/Library/Fonts"),
)
_ASCII = {"≥": ">=", "≤": "<=", "→": "->", "←": "<-", "✗": "x", "✓": "+", "×": "x", "—": "-"}


@functools.cache
def font_file(bold: bool = False) -> Path | None:
    """DejaVu Sans (bold) if any copy is installed, found without importing matplotlib."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    dirs = list(_SYSTEM_FONT_DIRS)
    spec = importlib.util.find_spec("matplotlib")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        dirs.insert(0, Path(loc) / "mpl-data" / "fonts" / "ttf")
    return next((d / name for d in dirs if (d / name).is_file()), None)


@functools.cache
def font(size: int, *, bold: bool = False) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """A font of ``size`` px: DejaVu Sans when available, else Pillow's built-in one."""
    path = font_file(bold)
    if path is not None:
        try:
            return ImageFont.truetype(str(path), size=size)
        except OSError:
            pass
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # very old Pillow
        return ImageFont.load_default()


def legible(text: str) -> str:
    """``text`` with symbols the fallback font cannot draw spelled in ASCII (≥ → >=)."""
    if font_file() is not None:
        return text
    return "".join(_ASCII.get(ch, ch) for ch in text)


def draw_detections(
    pixels: np.ndarray, detections: Sequence[Detection], *, min_score: float = 0.0
) -> Image.Image:
    """Labelled boxes, mugs drawn last and thickest so they stay visible."""
    img = Image.fromarray(pixels).convert("RGB")
    draw = ImageDraw.Draw(img)
    scale = max(img.size) / 640.0
    width = max(2, round(2 * scale))
    text_font = font(max(12, round(14 * scale)))
    ordered = sorted(detections, key=lambda d: (d.label == MUG, d.score))
    for det in ordered:
        if det.score < min_score:
            continue
        colour = colour_for(det.label)
        box = det.box.as_tuple()
        draw.rectangle(box, outline=colour, width=width * (2 if det.label == MUG else 1))
        caption = f"{det.label} {det.score:.2f}"
        tx, ty = box[0], max(0.0, box[1] - text_font.size - 4)
        left, top, right, bottom = draw.textbbox((tx, ty), caption, font=text_font)
        draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=colour)
        draw.text((tx, ty), caption, fill=(0, 0, 0), font=text_font)
    return img
