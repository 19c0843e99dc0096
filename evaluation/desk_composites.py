"""Wide desk composites with small mugs: the case users meet and full-image detection misses.

Real surfaces and interiors from registry packages (a wood board, stone, a console table, a
round table, a sofa scene with a real cup, laptop and books), cropped to 1280-1920 px wide
without upscaling; real mugs cut out of real photos pasted at 15-60 px (their longer side), and
laptops, keyboards, monitors, books and bottles at the same scene scale (px per cm, from the
objects' real sizes), so a 33 cm laptop sits beside a 9 cm mug as it would on a desk. Boxes are
exact by construction (the pasted alpha's extent at >= 0.5); real objects already in a
background are hand-annotated and kept as ground truth. A JPEG round trip at the end gives the
pasted and the photographed pixels the same compression. About one image in seven has no mug.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from evaluation.composite import _apart, _shift_hue
from evaluation.cutouts import Cutout, cutout_pixels, cutouts
from evaluation.dataset import EvalDataset, Example, GtObject, Xyxy
from evaluation.sources import SourceCache

DESK_SMALL = "desk_small"
WIDTHS = (1280, 1366, 1600, 1920)
MUG_PX = (15.0, 60.0)  # longer side of a pasted mug
CONTEXT_LABELS = ("laptop", "keyboard", "monitor", "book", "bottle")


@dataclass(frozen=True)
class Background:
    id: str
    source: str
    region: Xyxy | None = None  # the usable part of the photo; None: all of it
    objects: tuple[tuple[str, Xyxy], ...] = ()  # real objects in it (hand-annotated)


BACKGROUNDS: tuple[Background, ...] = (
    Background("wood", "mate-wood"),
    Background("stone", "lomiri-stone"),  # a red bowl in the middle: a hard negative
    Background("console-table", "pexels-6707631"),
    Background(
        "round-table", "pexels-7303994", (0, 1450, 1920, 2880), (("book", (458, 1818, 1678, 2755)),)
    ),
    Background(
        "sofa-tray",
        "pexels-5386834",
        (0, 760, 1920, 1860),
        (
            ("mug", (692, 1426, 890, 1578)),
            ("laptop", (880, 955, 1541, 1590)),
            ("book", (1361, 1459, 1876, 1668)),
            ("book", (706, 1355, 885, 1458)),
        ),
    ),
)


def build_desk_dataset(
    n: int = 48, *, seed: int = 5000, cache: SourceCache, finish: bool = True
) -> EvalDataset:
    """``n`` composites; the same arguments and files always give the same pixels and boxes.

    ``finish=False`` leaves out the sensor noise and the JPEG round trip (for tests that
    compare pixels with the background)."""
    examples = [_composite(seed + i, cache, finish) for i in range(n)]
    return EvalDataset(
        name=DESK_SMALL,
        examples=examples,
        description=f"{n} wide desk composites (1280-1920 px, seeds {seed}..{seed + n - 1}): "
        "real mugs cut from registry photos pasted at 15-60 px, with laptops, keyboards, "
        "monitors, books and bottles at the same scene scale, on real surfaces and interiors; "
        "exact boxes.",
    )


def _composite(seed: int, cache: SourceCache, finish: bool = True) -> Example:
    rng = np.random.default_rng(seed)
    bg = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    canvas, inherited, crop_info = _crop(bg, cache, rng)
    objects = list(inherited)
    taken = [o.box for o in objects]
    background = canvas.copy() if not finish else None
    # One scale per scene: px per cm from the first mug's size.
    px_per_cm = float(rng.uniform(*MUG_PX)) / 10.0
    n_context = int(rng.integers(0, 4))
    for _ in range(n_context):
        label = CONTEXT_LABELS[int(rng.integers(len(CONTEXT_LABELS)))]
        _paste_one(canvas, rng, label, px_per_cm, taken, objects, cache)
    n_mugs = 0 if rng.random() < 0.15 else int(rng.integers(1, 5))
    for _ in range(n_mugs):
        _paste_one(canvas, rng, "mug", px_per_cm, taken, objects, cache)
    meta = {
        "seed": seed,
        "background": bg.id,
        "px_per_cm": round(px_per_cm, 3),
        "inherited": len(inherited),  # the first objects are the background's own
        **crop_info,
    }
    if finish:
        noise = rng.normal(0.0, 2.0, canvas.shape)
        image = _jpeg_round_trip(np.clip(canvas + noise, 0, 255).astype(np.uint8))
    else:
        assert background is not None
        image = np.clip(canvas, 0, 255).astype(np.uint8)
        meta["background_pixels"] = np.clip(background, 0, 255).astype(np.uint8)
    return Example(id=f"desk-{seed:05d}", image=image, objects=objects, meta=meta)


def _crop(
    bg: Background, cache: SourceCache, rng: np.random.Generator
) -> tuple[np.ndarray, list[GtObject], dict[str, object]]:
    """A 16:9 or 4:3 window of the usable region, at most 1920 wide, never upscaled."""
    photo = cache.pixels(bg.source)
    rx1, ry1, rx2, ry2 = bg.region or (0, 0, photo.shape[1], photo.shape[0])
    rw, rh = rx2 - rx1, ry2 - ry1
    aspect = (16 / 9, 4 / 3)[int(rng.integers(2))]
    if min(rw, rh * aspect) < WIDTHS[0]:
        aspect = 16 / 9  # a flat region: the wider window still fits
    widest = min(rw, rh * aspect)
    if widest < WIDTHS[0]:
        raise ValueError(f"background {bg.id}: region {rw}x{rh} is too small for 1280 px")
    cw = float(rng.uniform(max(WIDTHS[0], 0.8 * widest), widest))
    fits = [w for w in WIDTHS if w <= cw]
    out_w = fits[int(rng.integers(len(fits)))]
    out_h = round(out_w / aspect)
    ch = cw / aspect
    x = rx1 + float(rng.uniform(0, rw - cw))
    y = ry1 + float(rng.uniform(0, rh - ch))
    window = (x, y, x + cw, y + ch)
    img = Image.fromarray(photo).resize((out_w, out_h), Image.Resampling.LANCZOS, box=window)
    sx, sy = out_w / cw, out_h / ch
    inherited = []
    for label, (ox1, oy1, ox2, oy2) in bg.objects:
        bx1, by1 = max(ox1, x), max(oy1, y)
        bx2, by2 = min(ox2, x + cw), min(oy2, y + ch)
        if bx2 <= bx1 or by2 <= by1:
            continue
        if (bx2 - bx1) * (by2 - by1) < 0.6 * (ox2 - ox1) * (oy2 - oy1):
            continue  # mostly cut off: not a fair object to find
        box = ((bx1 - x) * sx, (by1 - y) * sy, (bx2 - x) * sx, (by2 - y) * sy)
        inherited.append(GtObject(label, tuple(round(v, 2) for v in box)))
    info = {"window": [round(v, 1) for v in window], "size": [out_w, out_h]}
    return np.asarray(img, np.float32), inherited, info


def _paste_one(
    canvas: np.ndarray,
    rng: np.random.Generator,
    label: str,
    px_per_cm: float,
    taken: list[Xyxy],
    objects: list[GtObject],
    cache: SourceCache,
) -> None:
    choices = cutouts(label)
    cut = choices[int(rng.integers(len(choices)))]
    size = cut.size_cm * px_per_cm * float(rng.uniform(0.85, 1.15))
    if label == "mug":
        size = float(np.clip(size, *MUG_PX))
    pasted = _paste(canvas, rng, cut, size, taken, cache)
    if pasted is not None:
        taken.append(pasted)
        objects.append(GtObject(label, pasted))


def _paste(
    canvas: np.ndarray,
    rng: np.random.Generator,
    cut: Cutout,
    size: float,
    taken: list[Xyxy],
    cache: SourceCache,
) -> Xyxy | None:
    rgb, alpha = cutout_pixels(cut, cache)
    h, w = rgb.shape[:2]
    k = size / max(h, w)
    pw, ph = max(4, round(w * k)), max(4, round(h * k))
    height, width = canvas.shape[:2]
    if pw >= width or ph >= height:
        return None
    flip = bool(rng.random() < 0.5)
    src = _shift_hue(rgb, float(rng.uniform(-0.05, 0.05))) if cut.label == "mug" else rgb
    im = Image.fromarray(src).resize((pw, ph), Image.Resampling.LANCZOS)
    a = Image.fromarray((alpha * 255).astype(np.uint8)).resize((pw, ph), Image.Resampling.BILINEAR)
    a = a.filter(ImageFilter.GaussianBlur(0.6))
    if flip:
        im, a = im.transpose(Image.FLIP_LEFT_RIGHT), a.transpose(Image.FLIP_LEFT_RIGHT)
    alpha_arr = np.asarray(a, np.float32)[..., None] / 255.0
    ys, xs = np.nonzero(alpha_arr[..., 0] >= 0.5)
    if ys.size == 0:
        return None
    ex1, ey1, ex2, ey2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    gain = float(rng.uniform(0.85, 1.1))
    for _ in range(60):
        x = int(rng.integers(0, width - pw + 1))
        y = int(rng.integers(0, height - ph + 1))
        box = (float(x + ex1), float(y + ey1), float(x + ex2), float(y + ey2))
        if all(_apart(box, t, 6.0) for t in taken):
            region = canvas[y : y + ph, x : x + pw]
            region[...] = np.asarray(im, np.float32) * gain * alpha_arr + region * (1 - alpha_arr)
            return box
    return None


def _jpeg_round_trip(image: np.ndarray, quality: int = 90) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))
