"""The offline default renderer: the report card drawn here with Pillow, as a PNG.

Layout: the annotated photo on the left; on the right the title, the score in its band's colour
(or a dash and "not scored"), the verdict, the violations (worst first), the suggested moves and
notes; a footer with the model and time. Text is wrapped to the panel and cut with "…" when it
would run off the card, so any analysis fits.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from mugpos.cards.base import CardRenderer, RenderedCard
from mugpos.cards.model import Band, ReportCard
from mugpos.render import font, legible

WIDTH = 1400
MARGIN = 32
PHOTO_BOX = (820, 640)
PANEL_X = MARGIN + PHOTO_BOX[0] + 36
BG = (250, 250, 247)
INK = (28, 30, 34)
MUTED = (110, 114, 120)
RULE = (220, 220, 214)
BAND_COLOURS: dict[Band, tuple[int, int, int]] = {
    "good": (30, 150, 80),
    "fair": (214, 140, 0),
    "poor": (205, 40, 40),
    "none": (140, 140, 140),
}


def wrap(
    draw: ImageDraw.ImageDraw, text: str, size: int, width: float, bold: bool = False
) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (a word longer than that keeps its
    own line)."""
    f = font(size, bold=bold)
    lines: list[str] = []
    for paragraph in legible(text).split("\n"):
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}".strip()
            if draw.textlength(trial, font=f) <= width or not line:
                line = trial
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


class LocalCardRenderer(CardRenderer):
    name = "local"

    def render(self, card: ReportCard) -> RenderedCard:
        photo = Image.open(io.BytesIO(card.photo_png)).convert("RGB")
        fit = min(PHOTO_BOX[0] / photo.width, PHOTO_BOX[1] / photo.height)
        size = (max(1, round(photo.width * fit)), max(1, round(photo.height * fit)))
        photo = photo.resize(size, Image.Resampling.LANCZOS)  # small photos grow to the box
        height = max(720, photo.height + 2 * MARGIN + 48)
        img = Image.new("RGB", (WIDTH, height), BG)
        img.paste(photo, (MARGIN, MARGIN))
        draw = ImageDraw.Draw(img)
        Panel(draw, PANEL_X, WIDTH - MARGIN, MARGIN, height - MARGIN - 40).write(card)
        draw.line((MARGIN, height - 52, WIDTH - MARGIN, height - 52), fill=RULE, width=2)
        draw.text((MARGIN, height - 40), legible(card.footer), fill=MUTED, font=font(17))
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=6)
        return RenderedCard(
            renderer=self.name,
            media_type="image/png",
            content=buf.getvalue(),
            width=img.width,
            height=img.height,
        )


class Panel:
    """The text column: lines placed top-down, never past ``bottom``."""

    def __init__(self, draw: ImageDraw.ImageDraw, left: int, right: int, top: int, bottom: int):
        self.draw, self.left, self.width = draw, left, right - left
        self.y, self.bottom = top, bottom

    def text(self, text: str, size: int, colour: tuple[int, int, int], bold: bool = False) -> bool:
        """Wrapped ``text``; False (after an ellipsis) once the panel is full."""
        f = font(size, bold=bold)
        step = round(size * 1.3)
        for line in wrap(self.draw, text, size, self.width, bold):
            if self.y + step > self.bottom:
                self.draw.text((self.left, self.y - step), "…", fill=MUTED, font=f)
                return False
            self.draw.text((self.left, self.y), line, fill=colour, font=f)
            self.y += step
        return True

    def gap(self, px: int) -> None:
        self.y += px

    def write(self, card: ReportCard) -> None:
        self.text(card.title, 30, INK, bold=True)
        self.gap(10)
        colour = BAND_COLOURS[card.band]
        big = font(112, bold=True)
        self.draw.text((self.left, self.y), card.score_text, fill=colour, font=big)
        label = "/ 100" if card.score is not None else "not scored"
        x = self.left + self.draw.textlength(card.score_text, font=big) + 14
        self.draw.text((x, self.y + 70), label, fill=MUTED, font=font(24))
        self.gap(136)
        self.text(card.verdict, 26, INK, bold=True)
        mugs = f"{card.mugs} mug{'s' * (card.mugs != 1)} found"
        self.text(mugs, 18, MUTED)
        self.gap(14)
        sections = [
            ("Violations", card.violations_text() if card.violations else ""),
            ("Suggested moves", card.moves_text() if card.moves else ""),
            ("Notes", "\n".join(card.notes)),
        ]
        for heading, body in sections:
            if not body:
                continue
            if not self.text(heading, 21, INK, bold=True) or not self.text(body, 18, INK):
                return
            self.gap(12)
