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
# Decode memory per image (see decode_cost_bytes): a 40-megapixel RGB photo needs about 240 MB,
# the same size with alpha about 560 MB.
DEFAULT_MAX_DECODE_BYTES = 640 * 1024 * 1024


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
    max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES,
    min_side: int | None = None,
) -> DecodedImage:
    """Decode bytes or a path into an upright RGB array, or raise :class:`ImageError`.

    ``max_decode_bytes`` bounds the memory one decode may take (its mode and size, from the
    header, tell how much before any pixel is decoded), so N workers decoding at once need at
    most N times that.

    ``min_side`` lets a JPEG decode at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling) as long
    as its shorter side stays at least ``min_side``: several times faster for a model that
    resizes to a small input anyway (CLIP's 224 px), at slightly different pixels. Boxes
    computed on such pixels are not in the photo's coordinates; detection must not use it.
    """
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
        cost = decode_cost_bytes(img.mode, width, height)
        if cost > max_decode_bytes:
            raise ImageError(
                f"decoding this {img.mode} image of {width}x{height} pixels needs about "
                f"{cost // 2**20} MB, over the decode budget of {max_decode_bytes // 2**20} MB "
                "(refused before decoding)",
                details={"width": width, "height": height, "mode": img.mode,
                         "max_decode_bytes": max_decode_bytes},
            )  # fmt: skip
        frames = int(getattr(img, "n_frames", 1) or 1)
        source_mode = img.mode
        try:
            img.seek(0)
            if min_side and fmt in ("JPEG", "MPO"):
                short = min(width, height)
                want = (-(-width * min_side // short), -(-height * min_side // short))
                img.draft("RGB", want)  # largest reduction that stays at or above ``want``
            img.load()
            orientation = img.getexif().get(0x0112, 1)
            transposed = orientation not in (None, 1)
            # exif_transpose copies the whole image even when there is nothing to turn.
            upright = ImageOps.exif_transpose(img) if transposed else img
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


# Modes wider than 8 bits per sample: scaled to 8 bits block by block (see _wide_to_rgb).
_WIDE_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})
_BLOCK_PIXELS = 1 << 20  # about 4 MB of float32 per block


def decode_cost_bytes(mode: str, width: int, height: int) -> int:
    """Peak memory that decoding and converting an image of this mode and size needs, about.

    Pillow's own buffer (``Image.getmodebandnames`` × bytes per band, padded to 4 for 24-bit
    modes) plus the 3-byte RGB output, plus the alpha and composite buffers when the image is
    composited on white. Used to refuse, before decoding, what the decode budget cannot hold.
    """
    pixels = width * height
    source = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "LA": 4,
              "La": 4, "PA": 4}.get(mode, 4)  # fmt: skip
    extra = 0
    if mode in ("RGBA", "LA", "La", "RGBa", "P", "PA"):
        extra = 4 + 1 + 3  # an RGBA copy, its alpha band, the RGB background
    elif mode not in ("RGB", *_WIDE_MODES):
        extra = 3  # one converted copy (CMYK, L, 1, YCbCr, ...)
    return pixels * (source + extra + 3)


def _to_rgb_array(img: Image.Image) -> np.ndarray:
    """Any Pillow mode to H x W x 3 uint8; alpha is composited on white.

    Every path makes as few full-size copies as it can: an RGB image is copied once (into the
    array), a wide one is scaled block by block straight into the output, never as a whole
    float array (a float64 copy of a 40-megapixel image alone is 320 MB).
    """
    mode = img.mode
    if mode in _WIDE_MODES:
        return _wide_to_rgb(img)
    if mode == "RGB":
        return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
    if mode in ("P", "PA"):
        if "transparency" not in img.info and mode == "P":
            return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = img if mode == "RGBA" else img.convert("RGBA")
        out = Image.new("RGB", rgba.size, (255, 255, 255))
        out.paste(rgba, mask=rgba.getchannel("A"))  # out = rgb * a + white * (1 - a)
        return np.ascontiguousarray(np.asarray(out, dtype=np.uint8))
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def _wide_to_rgb(img: Image.Image) -> np.ndarray:
    """16-bit, 32-bit integer and float greyscale to 8-bit RGB, a block of rows at a time.

    Integers above 255 are scaled from the 16-bit range (not clipped); floats from [0, 1], or
    from [0, max] when they exceed 1.
    """
    _, top_value = img.getextrema()
    top_value = float(top_value) if np.isfinite(top_value) else 1.0
    if img.mode == "F":
        hi = top_value if top_value > 1 else 1.0
    else:
        hi = 65535.0 if top_value > 255 else 255.0
    width, height = img.size
    out = np.empty((height, width, 3), np.uint8)
    rows = max(1, _BLOCK_PIXELS // width)
    scale = np.float32(255.0 / hi)
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        block = np.array(img.crop((0, top, width, bottom)), dtype=np.float32)
        block *= scale
        block += 0.5
        np.clip(np.nan_to_num(block, copy=False), 0, 255, out=block)
        out[top:bottom] = block.astype(np.uint8)[..., None]
    return out


def encode_png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def encode_jpeg(pixels: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
