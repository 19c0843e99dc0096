"""Image preprocessing shared by the ONNX and native model paths: numpy, OpenCV and PIL only.

Two recipes, each a bit-exact copy of its reference library so an exported model gives the
same answers as the library it came from (the parity tests hold us to that):

- YOLO letterbox, as ``ultralytics.data.augment.LetterBox`` with ``center=True`` and
  ``scaleup=True`` (rounded resized sides, ``round(d - 0.1)`` / ``round(d + 0.1)`` padding split,
  padding value 114, ``cv2.INTER_LINEAR``), and its inverse, ``ultralytics.utils.ops.scale_boxes``
  with per-axis gains ``new / old``.
- CLIP, as open_clip's eval transform with ``resize_mode="shortest"``: PIL bicubic resize of the
  shortest side (torchvision's size arithmetic), centre crop, ``/255``, mean/std normalisation.

No torch here: the serving path imports this module without it. The YOLO letterbox needs
OpenCV (its resize is the reference); the CLIP recipe needs only PIL.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

YOLO_PAD_VALUE = 114


@dataclass(frozen=True, slots=True)
class LetterboxParams:
    """Where a source image lands inside the network input, and how to map boxes back."""

    src_h: int
    src_w: int
    out_h: int
    out_w: int
    new_h: int  # resized image height inside the canvas
    new_w: int
    top: int  # padding above the resized image
    left: int

    @property
    def gain_x(self) -> float:
        # Per-axis gain from the rounded size, as scale_boxes computes it (not the raw ratio).
        return self.new_w / self.src_w

    @property
    def gain_y(self) -> float:
        return self.new_h / self.src_h


def letterbox_params(
    src_hw: tuple[int, int],
    out_hw: tuple[int, int],
    *,
    auto: bool = False,
    stride: int = 32,
    scaleup: bool = True,
) -> LetterboxParams:
    """Ultralytics' LetterBox arithmetic. ``auto`` pads only to a multiple of ``stride``."""
    h, w = int(src_hw[0]), int(src_hw[1])
    if h <= 0 or w <= 0:
        raise ValueError(f"empty image of shape {src_hw}")
    r = min(out_hw[0] / h, out_hw[1] / w)
    if not scaleup:
        r = min(r, 1.0)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = out_hw[1] - new_w, out_hw[0] - new_h
    if auto:
        dw, dh = dw % stride, dh % stride
    top, bottom = round(dh / 2 - 0.1), round(dh / 2 + 0.1)
    left, right = round(dw / 2 - 0.1), round(dw / 2 + 0.1)
    out_h, out_w = new_h + top + bottom, new_w + left + right
    return LetterboxParams(h, w, out_h, out_w, new_h, new_w, top, left)


def letterbox_into(
    image: np.ndarray, canvas: np.ndarray, params: LetterboxParams, pad_value: int = YOLO_PAD_VALUE
) -> np.ndarray:
    """Letterbox ``image`` into the preallocated HxWx3 uint8 ``canvas`` (no temporary copies).

    Only the borders are filled; cv2 resizes straight into the interior view.
    """
    import cv2  # here, not at module import: the CLIP path needs only PIL

    p = params
    if canvas.shape[:2] != (p.out_h, p.out_w):
        raise ValueError(f"canvas {canvas.shape[:2]} does not match {(p.out_h, p.out_w)}")
    bottom, right = p.top + p.new_h, p.left + p.new_w
    canvas[: p.top] = pad_value
    canvas[bottom:] = pad_value
    canvas[p.top : bottom, : p.left] = pad_value
    canvas[p.top : bottom, right:] = pad_value
    inner = canvas[p.top : bottom, p.left : right]
    if (p.new_h, p.new_w) == image.shape[:2]:
        inner[...] = image
    else:
        cv2.resize(image, (p.new_w, p.new_h), dst=inner, interpolation=cv2.INTER_LINEAR)
    return canvas


def letterbox(
    image: np.ndarray,
    out_hw: tuple[int, int],
    *,
    auto: bool = False,
    stride: int = 32,
    pad_value: int = YOLO_PAD_VALUE,
) -> tuple[np.ndarray, LetterboxParams]:
    """Convenience form of :func:`letterbox_into` that allocates its canvas."""
    params = letterbox_params(image.shape[:2], out_hw, auto=auto, stride=stride)
    canvas = np.empty((params.out_h, params.out_w, 3), dtype=np.uint8)
    return letterbox_into(image, canvas, params, pad_value), params


def scale_boxes_back(boxes: np.ndarray, params: LetterboxParams) -> np.ndarray:
    """Map xyxy boxes from network-input pixels to source pixels, clipped; in place, float32.

    Same operation order as ``ultralytics.utils.ops.scale_boxes`` so float32 results match.
    """
    xs, ys = boxes[:, 0::2], boxes[:, 1::2]  # views: x1, x2 and y1, y2
    xs -= params.left
    ys -= params.top
    xs /= params.gain_x
    ys /= params.gain_y
    np.clip(xs, 0, params.src_w, out=xs)
    np.clip(ys, 0, params.src_h, out=ys)
    return boxes


def usable_cpus() -> int:
    """CPUs this process may run on (the affinity mask, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# ---- CLIP -------------------------------------------------------------------------------------


def clip_resize_size(src_hw: tuple[int, int], size: int) -> tuple[int, int]:
    """torchvision ``Resize(size)`` output (h, w): shortest side to ``size``, long truncated."""
    h, w = src_hw
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return new_h, new_w


def clip_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The geometric half of :func:`clip_preprocess`: a ``size x size x 3`` uint8 crop.

    Split out so a GPU pipeline can ship uint8 crops from its decode workers (a quarter of the
    bytes of float32 pixels) and normalise on the device with the same arithmetic.
    PIL does the resize because torchvision does too for PIL input: cv2's bicubic differs
    (no antialiasing when downscaling).
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {image.shape}")
    new_h, new_w = clip_resize_size(image.shape[:2], size)
    pil = Image.fromarray(image)
    if (new_h, new_w) != image.shape[:2]:
        pil = pil.resize((new_w, new_h), Image.Resampling.BICUBIC)
    arr = np.asarray(pil)
    # torchvision CenterCrop: Python round (half to even), as here
    top = round((new_h - size) / 2.0)
    left = round((new_w - size) / 2.0)
    return arr[top : top + size, left : left + size]


def clip_preprocess(
    image: np.ndarray,
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
    out: np.ndarray | None = None,
) -> np.ndarray:
    """One RGB uint8 image to a normalised 3 x size x size float32 array, like open_clip's eval
    transform (Resize shortest side bicubic, CenterCrop, ToTensor, Normalize).
    """
    crop = clip_crop(image, size)
    if out is None:
        out = np.empty((3, size, size), dtype=np.float32)
    # ToTensor divides by 255 first, then Normalize subtracts and divides: same order here.
    np.divide(crop.transpose(2, 0, 1), np.float32(255.0), out=out)
    out -= np.asarray(mean, dtype=np.float32)[:, None, None]
    out /= np.asarray(std, dtype=np.float32)[:, None, None]
    return out


def clip_preprocess_batch(
    images: Sequence[np.ndarray],
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
    *,
    out: np.ndarray | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """N images to an N x 3 x size x size float32 batch.

    PIL releases the GIL while resampling, so large batches (the GPU path feeds 1024 at a time)
    are spread over a thread pool; small ones stay on the calling thread.
    """
    n = len(images)
    if out is None:
        out = np.empty((n, 3, size, size), dtype=np.float32)
    workers = workers or min(32, usable_cpus())
    if n < 8 or workers <= 1:
        for i, im in enumerate(images):
            clip_preprocess(im, size, mean, std, out=out[i])
        return out
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda i: clip_preprocess(images[i], size, mean, std, out=out[i]), range(n)))
    return out
