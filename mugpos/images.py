"""Safe image decoding: every image the platform touches enters through :func:`decode_image`.

The decoder checks size limits on the encoded bytes and on the header's declared pixel count
*before* decoding pixels, so a decompression bomb costs a header read, not gigabytes. It applies
EXIF orientation (boxes are reported in the upright frame people see) and turns every mode
(CMYK, palette, 16-bit, alpha, greyscale) into 8-bit RGB.

Animated images (GIF, APNG, animated WebP) are accepted: the first frame is used and the frame
count is reported, because a desk photo saved as GIF is still a desk photo.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mugpos.errors import ImageError

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "MPO"})
OPEN_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")  # MPO (multi-picture JPEG) opens via JPEG
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000

def _pillow_open() -> Callable[..., Image.Image]:
    """Pillow's own ``Image.open``, even if another library has monkey-patched it (ultralytics
    replaces it with a wrapper that tries to install a HEIF plugin on unknown bytes)."""
    opener = Image.open
    if getattr(opener, "__module__", "") != "PIL.Image":
        original = getattr(opener, "__globals__", {}).get("_image_open")
        if callable(original) and getattr(original, "__module__", "") == "PIL.Image":
            return original  # type: ignore[no-any-return]
    return opener


# We enforce our own pixel limit before decoding; Pillow's own guard would raise a different
# exception type (or only warn), so it is switched off in favour of the explicit check below.
Image.MAX_IMAGE_PIXELS = None


@dataclass(frozen=True)
class DecodedImage:
    """An upright 8-bit RGB image plus what we learned while decoding it."""

    pixels: np.ndarray  # H x W x 3, uint8, C-contiguous
    sha256: str  # of the encoded bytes as received
    format: str
    source_mode: str
    frames: int = 1
    exif_transposed: bool = False

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_image_bytes(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a file, refusing anything larger than ``max_bytes`` without reading it whole."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ImageError(f"cannot read image file {p}: {exc.strerror or exc}") from exc
    if size > max_bytes:
        raise ImageError(
            f"image file {p.name} is {size} bytes, over the limit of {max_bytes} bytes",
            details={"bytes": size, "max_bytes": max_bytes},
        )
    return p.read_bytes()


def decode_image(
    source: bytes | str | Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> DecodedImage:
    """Decode bytes or a path into an upright RGB array, or raise :class:`ImageError`."""
    data = source if isinstance(source, bytes) else read_image_bytes(source, max_bytes=max_bytes)
    if not data:
        raise ImageError("image is empty (0 bytes)", details={"bytes": 0})
    if len(data) > max_bytes:
        raise ImageError(
            f"image is {len(data)} bytes, over the limit of {max_bytes} bytes",
            details={"bytes": len(data), "max_bytes": max_bytes},
        )
    digest = sha256_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Only our formats' decoders are tried: less attack surface, and plugins that other
            # libraries register (e.g. HEIF openers) never see hostile bytes.
            img = _pillow_open()(io.BytesIO(data), formats=OPEN_FORMATS)
    except UnidentifiedImageError as exc:
        raise ImageError(
            "not a recognised image (expected JPEG, PNG, WebP or GIF)",
            details={"sha256": digest},
        ) from exc
    except Exception as exc:
        raise ImageError(f"cannot read image header: {exc}", details={"sha256": digest}) from exc

    with img:
        fmt = (img.format or "").upper()
        if fmt not in ALLOWED_FORMATS:
            raise ImageError(
                f"unsupported image format {fmt or 'unknown'} (expected JPEG, PNG, WebP or GIF)",
                details={"format": fmt, "sha256": digest},
            )
        width, height = img.size
        if width <= 0 or height <= 0:
            raise ImageError(f"image declares an empty size {width}x{height}")
        if width * height > max_pixels:
            raise ImageError(
                f"image declares {width}x{height} = {width * height} pixels, over the limit of "
                f"{max_pixels} pixels (refused before decoding)",
                details={"width": width, "height": height, "max_pixels": max_pixels},
            )
        frames = int(getattr(img, "n_frames", 1) or 1)
        source_mode = img.mode
        try:
            img.seek(0)
            img.load()
            orientation = img.getexif().get(0x0112, 1)
            upright = ImageOps.exif_transpose(img)
            transposed = orientation not in (None, 1)
            pixels = _to_rgb_array(upright)
        except ImageError:
            raise
        except Exception as exc:
            raise ImageError(
                f"corrupt or truncated {fmt} image: {exc}",
                details={"format": fmt, "sha256": digest},
            ) from exc
    return DecodedImage(
        pixels=pixels,
        sha256=digest,
        format=fmt,
        source_mode=source_mode,
        frames=frames,
        exif_transposed=transposed,
    )


def _to_rgb_array(img: Image.Image) -> np.ndarray:
    """Any Pillow mode to H x W x 3 uint8; alpha is composited on white."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I") and arr.max(initial=0) > 255 else 255.0
        if mode == "F":
            hi = max(float(arr.max(initial=1.0)), 1.0) if arr.max(initial=0) > 1 else 1.0
        grey = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.stack([grey] * 3, axis=-1))
    if mode == "P" or mode == "PA":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    rgb = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def encode_png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def encode_jpeg(pixels: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
