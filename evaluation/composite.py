"""Composited photos: the real cup of ``skimage.data.coffee()`` pasted onto real backgrounds.

Real positives are scarce (one cup in the registries' photos), so the cup is cut out once with a
hand-made mask and pasted at known positions, scales, mirrorings and colour shifts onto crops of
other photos that ship inside the scikit-image wheel (no download). The box of a pasted cup is
the extent of its mask where alpha >= 0.5, so it is exact by construction. About one image in
seven has no cup: negatives keep precision honest.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from evaluation.dataset import EvalDataset, Example, GtObject

COMPOSITES = "composites"

# Shipped in the scikit-image wheel (no pooch); none contains a cup.
BACKGROUNDS = (
    "brick", "grass", "gravel", "camera", "astronaut", "rocket", "chelsea", "coins", "moon",
    "hubble_deep_field", "immunohistochemistry",
)  # fmt: skip

# The cup in coffee() (600x400), traced by eye on a zoomed grid: the rim ellipse, the body
# below it down to the saucer, and the handle. The saucer is excluded, as in COFFEE_CUP_BOX;
# the spoon's bowl beside the body is partly included (it touches the cup).
CUP_RIM = (173, 18, 408, 208)
CUP_BODY = (
    (181, 150), (399, 150), (392, 222), (374, 256), (342, 282), (300, 292), (262, 288),
    (228, 262), (188, 222),
)  # fmt: skip
CUP_HANDLE = (197, 228, 262, 310)


@lru_cache(maxsize=1)
def cup_cutout() -> tuple[np.ndarray, np.ndarray]:
    """The cup's pixels (uint8 RGB) and alpha (float 0..1), cropped to the mask's extent."""
    import skimage.data

    photo = skimage.data.coffee()
    mask = Image.new("L", (photo.shape[1], photo.shape[0]), 0)
    draw = ImageDraw.Draw(mask)
    draw.ellipse(CUP_RIM, fill=255)
    draw.polygon(CUP_BODY, fill=255)
    draw.ellipse(CUP_HANDLE, fill=255)
    alpha = np.asarray(mask, dtype=np.float32) / 255.0
    ys, xs = np.nonzero(alpha > 0)
    y1, y2, x1, x2 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return np.ascontiguousarray(photo[y1:y2, x1:x2]), alpha[y1:y2, x1:x2]


@lru_cache(maxsize=len(BACKGROUNDS))
def background(name: str) -> np.ndarray:
    import skimage.data

    img = np.asarray(getattr(skimage.data, name)())
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[..., :3].astype(np.uint8))


def build_composite_dataset(
    n: int = 40, *, seed: int = 2000, width: int = 480, height: int = 360
) -> EvalDataset:
    """``n`` composites; the same arguments always give the same pixels and boxes."""
    examples = [_composite(seed + i, width, height) for i in range(n)]
    return EvalDataset(
        name=COMPOSITES,
        examples=examples,
        description=f"{n} composites ({width}x{height}, seeds {seed}..{seed + n - 1}): the real "
        "coffee() cup pasted at known positions/scales onto skimage photos; exact boxes.",
    )


def _composite(seed: int, width: int, height: int) -> Example:
    rng = np.random.default_rng(seed)
    bg_name = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    canvas = _crop(background(bg_name), width, height, rng).astype(np.float32)
    n_cups = 0 if rng.random() < 0.15 else int(rng.integers(1, 4))
    objects: list[GtObject] = []
    pastes = []
    for _ in range(n_cups):
        pasted = _paste(canvas, rng, [o.box for o in objects])
        if pasted is not None:
            box, info = pasted
            objects.append(GtObject("mug", box))
            pastes.append(info)
    noise = rng.normal(0.0, 2.0, canvas.shape)
    image = np.clip(canvas + noise, 0, 255).astype(np.uint8)
    return Example(
        id=f"composite-{seed:05d}",
        image=image,
        objects=objects,
        meta={"seed": seed, "background": bg_name, "pastes": pastes},
    )


def _crop(img: np.ndarray, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop with the target aspect ratio (at least half the photo), resized."""
    h, w = img.shape[:2]
    aspect = width / height
    frac = float(rng.uniform(0.5, 1.0))
    cw = min(w, h * aspect) * frac
    ch = cw / aspect
    x = float(rng.uniform(0, w - cw))
    y = float(rng.uniform(0, h - ch))
    region = Image.fromarray(img).resize(
        (width, height), Image.BILINEAR, box=(x, y, x + cw, y + ch)
    )
    return np.asarray(region)


def _paste(
    canvas: np.ndarray, rng: np.random.Generator, taken: list[tuple[float, ...]]
) -> tuple[tuple[float, float, float, float], dict[str, object]] | None:
    cup, alpha = cup_cutout()
    height, width = canvas.shape[:2]
    scale_h = float(rng.uniform(0.2, 0.6)) * height
    ch = max(8, round(scale_h))
    cw = max(8, round(cup.shape[1] * ch / cup.shape[0]))
    flip = bool(rng.random() < 0.5)
    hue = float(rng.uniform(-0.08, 0.08))
    gain = float(rng.uniform(0.8, 1.15))
    rgb = Image.fromarray(_shift_hue(cup, hue)).resize((cw, ch), Image.BILINEAR)
    a = Image.fromarray((alpha * 255).astype(np.uint8)).resize((cw, ch), Image.BILINEAR)
    a = a.filter(ImageFilter.GaussianBlur(0.7))
    if flip:
        rgb, a = rgb.transpose(Image.FLIP_LEFT_RIGHT), a.transpose(Image.FLIP_LEFT_RIGHT)
    alpha_arr = np.asarray(a, dtype=np.float32)[..., None] / 255.0
    ys, xs = np.nonzero(alpha_arr[..., 0] >= 0.5)
    ex1, ey1, ex2, ey2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    for _ in range(40):
        x = int(rng.integers(0, width - cw + 1))
        y = int(rng.integers(0, height - ch + 1))
        box = (float(x + ex1), float(y + ey1), float(x + ex2), float(y + ey2))
        if all(_apart(box, t, 4.0) for t in taken):
            region = canvas[y : y + ch, x : x + cw]
            pixels = np.asarray(rgb, dtype=np.float32) * gain
            region[...] = pixels * alpha_arr + region * (1.0 - alpha_arr)
            info = {"x": x, "y": y, "w": cw, "h": ch, "flip": flip, "hue": round(hue, 4)}
            return box, info
    return None


def _apart(a: tuple[float, ...], b: tuple[float, ...], gap: float) -> bool:
    return a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or b[3] + gap <= a[1]


def _shift_hue(rgb: np.ndarray, shift: float) -> np.ndarray:
    """Rotate the hue by ``shift`` turns: the same cup in another glaze."""
    hsv = np.asarray(Image.fromarray(rgb).convert("HSV"), dtype=np.int16)
    hsv[..., 0] = (hsv[..., 0] + round(shift * 255)) % 256
    return np.asarray(Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB"))
