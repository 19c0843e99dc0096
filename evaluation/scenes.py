"""Procedural tabletop scenes with exact ground truth, seeded and deterministic.

Each scene is a table seen from above-front: a wall, a table top with a visible front edge, and
objects placed without overlap (mugs with handles in varied colours and sizes, a laptop, a
keyboard, a mouse, books, bottles), under a lighting gradient and sensor noise. Ground-truth boxes
are the exact pixel extents of what was drawn (a mug's box includes its handle).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

MUG_COLOURS = [
    (235, 235, 230), (200, 40, 40), (40, 90, 180), (30, 30, 30), (240, 200, 60),
    (60, 150, 90), (230, 120, 160), (150, 100, 60),
]  # fmt: skip
TABLE_COLOURS = [(150, 105, 70), (190, 160, 120), (110, 80, 55), (200, 200, 195), (90, 90, 95)]
WALL_COLOURS = [(225, 225, 215), (190, 205, 215), (215, 200, 185), (170, 170, 175)]


@dataclass(frozen=True)
class SceneObject:
    label: str
    box: tuple[float, float, float, float]


@dataclass
class Scene:
    seed: int
    image: np.ndarray
    objects: list[SceneObject]
    table: tuple[float, float, float, float]
    mm_per_px: float
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def mugs(self) -> list[SceneObject]:
        return [o for o in self.objects if o.label == "mug"]


# Real-world widths (mm) so a scene has a consistent physical scale.
_WIDTH_MM = {
    "mug": (80, 120),
    "laptop": (300, 350),
    "keyboard": (360, 440),
    "mouse": (60, 70),
    "book": (150, 240),
    "bottle": (65, 80),
}
_ASPECT = {  # height / width of the drawn footprint, seen from above-front
    "mug": (0.9, 1.15),
    "laptop": (0.85, 1.0),
    "keyboard": (0.3, 0.38),
    "mouse": (1.4, 1.7),
    "book": (1.2, 1.45),
    "bottle": (2.6, 3.4),
}


def generate_scene(
    seed: int,
    width: int = 640,
    height: int = 480,
    *,
    n_mugs: tuple[int, int] = (1, 3),
    context: tuple[str, ...] = ("laptop", "keyboard", "mouse", "book", "bottle"),
    noise: float = 4.0,
) -> Scene:
    """Draw one scene; the same seed always gives the same pixels and boxes."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (width, height), _pick(rng, WALL_COLOURS))
    draw = ImageDraw.Draw(img)
    table_top = float(rng.uniform(0.18, 0.32) * height)
    table_bottom = float(rng.uniform(0.88, 0.97) * height)
    table = (0.0, table_top, float(width), table_bottom)
    table_colour = _pick(rng, TABLE_COLOURS)
    draw.rectangle(table, fill=table_colour)
    # The table's front edge: a darker band below the top surface.
    draw.rectangle(
        (0, table_bottom, width, min(height, table_bottom + 0.03 * height)),
        fill=_shade(table_colour, 0.55),
    )
    table_w_mm = float(rng.uniform(1000, 1600))
    mm_per_px = table_w_mm / width

    wanted: list[str] = [c for c in context if rng.random() < 0.7]
    wanted += ["mug"] * int(rng.integers(n_mugs[0], n_mugs[1] + 1))
    placed: list[SceneObject] = []
    for label in wanted:
        obj = _place(rng, label, table, mm_per_px, placed)
        if obj is not None:
            _DRAW[label](draw, obj.box, rng)
            placed.append(obj)

    pixels = np.asarray(img.filter(ImageFilter.GaussianBlur(0.6)), dtype=np.float32)
    pixels = _lighting(pixels, rng) + rng.normal(0.0, noise, pixels.shape)
    image = np.clip(pixels, 0, 255).astype(np.uint8)
    return Scene(seed=seed, image=image, objects=placed, table=table, mm_per_px=mm_per_px)


def _pick(rng: np.random.Generator, options: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    return options[int(rng.integers(len(options)))]


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, c * factor))) for c in colour)  # type: ignore[return-value]


def _place(
    rng: np.random.Generator,
    label: str,
    table: tuple[float, float, float, float],
    mm_per_px: float,
    placed: list[SceneObject],
) -> SceneObject | None:
    w = float(rng.uniform(*_WIDTH_MM[label])) / mm_per_px
    h = w * float(rng.uniform(*_ASPECT[label]))
    x_lo, y_lo, x_hi, y_hi = table[0] + 4, table[1] + 4, table[2] - 4, table[3] - 4
    if w > x_hi - x_lo or h > y_hi - y_lo:
        return None
    for _ in range(60):
        x1 = float(rng.uniform(x_lo, x_hi - w))
        y1 = float(rng.uniform(y_lo, y_hi - h))
        box = (round(x1), round(y1), round(x1 + w), round(y1 + h))
        if all(_gap(box, o.box) > 6 for o in placed):
            return SceneObject(label=label, box=tuple(float(v) for v in box))  # type: ignore[arg-type]
    return None


def _gap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    dx = max(b[0] - a[2], a[0] - b[2], 0.0)
    dy = max(b[1] - a[3], a[1] - b[3], 0.0)
    return max(dx, dy) if dx == 0 or dy == 0 else float(np.hypot(dx, dy))


def _lighting(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = pixels.shape[:2]
    gx = np.linspace(-1, 1, w)[None, :] * rng.uniform(-0.15, 0.15)
    gy = np.linspace(-1, 1, h)[:, None] * rng.uniform(-0.15, 0.15)
    gain = rng.uniform(0.8, 1.15) * (1.0 + gx + gy)
    return pixels * gain[..., None]


def _draw_mug(draw: ImageDraw.ImageDraw, box: tuple[float, ...], rng: np.random.Generator) -> None:
    x1, y1, x2, y2 = box
    colour = _pick(rng, MUG_COLOURS)
    handle_left = rng.random() < 0.5
    handle_w = (x2 - x1) * 0.24
    bx1, bx2 = (x1 + handle_w, x2) if handle_left else (x1, x2 - handle_w)
    rim_h = (y2 - y1) * 0.22
    hx1, hx2 = (x1, bx1 + 4) if handle_left else (bx2 - 4, x2)
    hy1, hy2 = y1 + (y2 - y1) * 0.3, y1 + (y2 - y1) * 0.75
    width = max(3, round(handle_w * 0.35))
    draw.ellipse(
        (hx1, hy1, hx2 + handle_w * 0.6 * (1 if handle_left else -1), hy2),
        outline=_shade(colour, 0.85),
        width=width,
    )
    draw.rounded_rectangle(
        (bx1, y1 + rim_h / 2, bx2, y2),
        radius=max(2, (bx2 - bx1) * 0.12),
        fill=colour,
        outline=_shade(colour, 0.6),
        width=2,
    )
    draw.ellipse((bx1, y1, bx2, y1 + rim_h), fill=_shade(colour, 0.9), outline=_shade(colour, 0.6))
    inset = (bx2 - bx1) * 0.08
    draw.ellipse(
        (bx1 + inset, y1 + rim_h * 0.2, bx2 - inset, y1 + rim_h * 0.85),
        fill=(70, 45, 30) if rng.random() < 0.6 else _shade(colour, 0.5),
    )


def _draw_laptop(
    draw: ImageDraw.ImageDraw, box: tuple[float, ...], rng: np.random.Generator
) -> None:
    x1, y1, x2, y2 = box
    body = (60, 60, 65) if rng.random() < 0.5 else (190, 190, 195)
    mid = y1 + (y2 - y1) * 0.55
    draw.rectangle((x1, y1, x2, mid), fill=_shade(body, 0.6))
    draw.rectangle((x1 + 6, y1 + 6, x2 - 6, mid - 4), fill=(40, 70, 110))
    draw.rectangle((x1, mid, x2, y2), fill=body, outline=_shade(body, 0.7))
    _key_grid(draw, (x1 + 8, mid + 5, x2 - 8, y2 - (y2 - mid) * 0.35), 12, 4, _shade(body, 0.75))


def _draw_keyboard(
    draw: ImageDraw.ImageDraw, box: tuple[float, ...], rng: np.random.Generator
) -> None:
    x1, y1, x2, y2 = box
    body = (35, 35, 38) if rng.random() < 0.6 else (225, 225, 225)
    draw.rounded_rectangle(box, radius=4, fill=body, outline=_shade(body, 0.6))
    _key_grid(
        draw, (x1 + 4, y1 + 4, x2 - 4, y2 - 4), 18, 5, _shade(body, 1.6 if body[0] < 100 else 0.8)
    )


def _draw_mouse(
    draw: ImageDraw.ImageDraw, box: tuple[float, ...], rng: np.random.Generator
) -> None:
    x1, y1, x2, y2 = box
    body = (40, 40, 45) if rng.random() < 0.5 else (220, 220, 225)
    draw.ellipse(box, fill=body, outline=_shade(body, 0.5))
    draw.line(((x1 + x2) / 2, y1 + 2, (x1 + x2) / 2, y1 + (y2 - y1) * 0.4), fill=_shade(body, 0.5))


def _draw_book(draw: ImageDraw.ImageDraw, box: tuple[float, ...], rng: np.random.Generator) -> None:
    x1, y1, x2, y2 = box
    cover = tuple(int(v) for v in rng.integers(40, 220, 3))
    draw.rectangle(box, fill=cover, outline=_shade(cover, 0.5), width=2)  # type: ignore[arg-type]
    draw.rectangle((x1, y1, x1 + (x2 - x1) * 0.1, y2), fill=_shade(cover, 0.7))  # type: ignore[arg-type]
    draw.rectangle(
        (x1 + (x2 - x1) * 0.25, y1 + (y2 - y1) * 0.15, x2 - (x2 - x1) * 0.15, y1 + (y2 - y1) * 0.3),
        fill=(235, 230, 210),
    )


def _draw_bottle(
    draw: ImageDraw.ImageDraw, box: tuple[float, ...], rng: np.random.Generator
) -> None:
    x1, y1, x2, y2 = box
    colour = [(60, 130, 80), (120, 170, 210), (200, 200, 210), (150, 60, 40)][int(rng.integers(4))]
    neck_w = (x2 - x1) * 0.4
    cx = (x1 + x2) / 2
    shoulder = y1 + (y2 - y1) * 0.3
    draw.rectangle((cx - neck_w / 2, y1 + (y2 - y1) * 0.08, cx + neck_w / 2, shoulder), fill=colour)
    draw.rectangle((cx - neck_w / 2, y1, cx + neck_w / 2, y1 + (y2 - y1) * 0.08), fill=(30, 30, 30))
    draw.rounded_rectangle(
        (x1, shoulder, x2, y2),
        radius=max(2, (x2 - x1) * 0.25),
        fill=colour,
        outline=_shade(colour, 0.6),
    )
    draw.rectangle(
        (
            x1 + (x2 - x1) * 0.15,
            shoulder + (y2 - shoulder) * 0.35,
            x2 - (x2 - x1) * 0.15,
            shoulder + (y2 - shoulder) * 0.6,
        ),
        fill=(240, 240, 235),
    )


def _key_grid(
    draw: ImageDraw.ImageDraw,
    area: tuple[float, ...],
    cols: int,
    rows: int,
    colour: tuple[int, ...],
) -> None:
    x1, y1, x2, y2 = area
    kw, kh = (x2 - x1) / cols, (y2 - y1) / rows
    if kw < 3 or kh < 3:
        return
    for r in range(rows):
        for c in range(cols):
            kx, ky = x1 + c * kw, y1 + r * kh
            draw.rectangle((kx + 1, ky + 1, kx + kw - 1, ky + kh - 1), fill=colour)  # type: ignore[arg-type]


_DRAW = {
    "mug": _draw_mug,
    "laptop": _draw_laptop,
    "keyboard": _draw_keyboard,
    "mouse": _draw_mouse,
    "book": _draw_book,
    "bottle": _draw_bottle,
}
