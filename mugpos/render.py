"""Pictures people would rather look at than tables: detections drawn on the photo."""

from __future__ import annotations

from collections.abc import Sequence

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
    return _PALETTE.get(label, _DEFAULT_COLOUR)


def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # very old Pillow
        return ImageFont.load_default()


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
