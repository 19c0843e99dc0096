"""The safe decoder: every hostile or odd image gives ImageError or a correct RGB array."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mugpos.errors import ImageError
from mugpos.images import decode_image, encode_jpeg, encode_png
from mugpos.samples import sample_photo


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A *valid* 1-bit PNG of width x height zeros: ~100 KB that decodes to 900 M pixels."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row * 1000) for _ in range(height // 1000)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def _save(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def test_zero_bytes_is_refused() -> None:
    with pytest.raises(ImageError, match="empty"):
        decode_image(b"")


def test_truncated_jpeg_is_refused() -> None:
    data = encode_jpeg(sample_photo("coffee"))
    with pytest.raises(ImageError, match="corrupt or truncated JPEG"):
        decode_image(data[: len(data) // 2])


def test_text_file_renamed_jpg_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a photo of a mug\n" * 20)
    with pytest.raises(ImageError, match="not a recognised image"):
        decode_image(path)


def test_decompression_bomb_refused_before_decoding() -> None:
    bomb = _png_bomb()
    assert len(bomb) < 2_000_000  # small on the wire, 900 M pixels when decoded
    with pytest.raises(ImageError, match=r"30000x30000.*refused before decoding") as info:
        decode_image(bomb)
    assert info.value.details["width"] == 30000


def test_byte_limit(tmp_path: Path) -> None:
    data = encode_png(sample_photo("coffee"))
    with pytest.raises(ImageError, match="over the limit"):
        decode_image(data, max_bytes=len(data) - 1)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    with pytest.raises(ImageError, match="over the limit"):
        decode_image(path, max_bytes=1000)


def test_unsupported_format_is_named() -> None:
    data = _save(Image.new("RGB", (8, 8)), "BMP")
    with pytest.raises(ImageError, match="not a recognised image"):
        decode_image(data)


def test_animated_gif_uses_first_frame() -> None:
    red = Image.new("RGB", (32, 24), (255, 0, 0))
    blue = Image.new("RGB", (32, 24), (0, 0, 255))
    data = _save(red, "GIF", save_all=True, append_images=[blue], duration=100, loop=0)
    decoded = decode_image(data)
    assert decoded.frames == 2
    assert decoded.pixels.shape == (24, 32, 3)
    r, _g, b = decoded.pixels[12, 16]
    assert r > 200 and b < 50


def test_cmyk_jpeg_decodes_to_rgb() -> None:
    rgb = Image.new("RGB", (40, 30), (200, 40, 40))
    data = _save(rgb.convert("CMYK"), "JPEG", quality=95)
    decoded = decode_image(data)
    assert decoded.source_mode == "CMYK"
    assert decoded.pixels.dtype == np.uint8 and decoded.pixels.shape == (30, 40, 3)
    assert np.abs(decoded.pixels[15, 20].astype(int) - [200, 40, 40]).max() < 20


def test_exif_orientation_is_applied() -> None:
    # Stored sideways (30 wide x 60 high) with a red block at the stored top-left; orientation 6
    # means "rotate 90° clockwise to view": upright it is 60 wide x 30 high, block top-right.
    stored = np.zeros((60, 30, 3), np.uint8)
    stored[:10, :10] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _save(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())
    decoded = decode_image(data)
    assert decoded.exif_transposed
    assert decoded.pixels.shape == (30, 60, 3)
    assert decoded.pixels[3, 56, 0] > 200 and decoded.pixels[3, 3, 0] < 60


@pytest.mark.parametrize(
    ("mode", "make"),
    [
        ("L", lambda: Image.new("L", (16, 8), 128)),
        ("P", lambda: Image.new("RGB", (16, 8), (10, 200, 30)).convert("P")),
        ("LA", lambda: Image.new("LA", (16, 8), (128, 255))),
        ("1", lambda: Image.new("1", (16, 8), 1)),
    ],
)
def test_modes_become_rgb(mode: str, make) -> None:  # type: ignore[no-untyped-def]
    decoded = decode_image(_save(make(), "PNG"))
    assert decoded.source_mode == mode
    assert decoded.pixels.shape == (8, 16, 3) and decoded.pixels.dtype == np.uint8


def test_alpha_is_composited_on_white() -> None:
    img = Image.new("RGBA", (10, 10), (255, 0, 0, 0))  # fully transparent red
    img.putpixel((0, 0), (0, 0, 255, 255))
    decoded = decode_image(_save(img, "PNG"))
    assert tuple(decoded.pixels[5, 5]) == (255, 255, 255)
    assert tuple(decoded.pixels[0, 0]) == (0, 0, 255)


def test_16bit_greyscale_is_scaled_not_clipped() -> None:
    arr = np.full((4, 4), 32768, dtype=np.uint16)  # mid grey in 16 bits
    decoded = decode_image(_save(Image.fromarray(arr), "PNG"))
    assert 120 <= int(decoded.pixels[0, 0, 0]) <= 135


def test_webp_and_sha256() -> None:
    data = _save(Image.fromarray(sample_photo("chelsea")), "WEBP", quality=80)
    decoded = decode_image(data)
    assert decoded.format == "WEBP"
    assert decoded.sha256 == hashlib.sha256(data).hexdigest()
    assert (decoded.width, decoded.height) == (451, 300)


def test_garbage_after_valid_header() -> None:
    data = encode_png(sample_photo("rocket"))
    corrupt = data[:100] + bytes(range(256)) * 40
    with pytest.raises(ImageError):
        decode_image(corrupt)


def test_decoder_ignores_a_monkey_patched_pillow_open() -> None:
    """ultralytics patches PIL.Image.open at import; our decoder must not go through it."""
    import ultralytics.utils.patches  # noqa: F401 - applies the patch

    assert Image.open.__module__ != "PIL.Image"
    with pytest.raises(ImageError, match="not a recognised image"):
        decode_image(b"plain text, not a picture" * 10)


_CAPPED_DECODE = """
import io, resource, sys
import numpy as np
from PIL import Image
from mugpos.images import decode_image

arr = np.zeros((6300, 6300), np.uint16)
arr[::50, ::50] = 60000
arr[1, 1] = 256
buf = io.BytesIO()
Image.fromarray(arr).save(buf, format="PNG")
data = buf.getvalue()
del arr
vm = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmSize"))
cap = vm + int(sys.argv[1]) * 2**20
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
pixels = decode_image(data).pixels
print(len(data), pixels.shape, pixels[0, 0].tolist(), pixels[1, 1].tolist(), pixels[2, 2].tolist())
"""


@pytest.mark.slow
def test_16bit_decode_fits_a_memory_cap(tmp_path: Path) -> None:
    """A 80 KB 16-bit 6300x6300 PNG (under the pixel limit) decodes in 400 MB of address space
    beyond the interpreter's: the output (119 MB) plus Pillow's buffer (79 MB), no float copy."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", _CAPPED_DECODE, "400"],
        cwd=tmp_path,  # import mugpos from the environment, not from the current directory
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    size, rest = proc.stdout.split(" ", 1)
    assert int(size) < 200_000
    assert rest.startswith("(6300, 6300, 3) [233, 233, 233] [1, 1, 1] [0, 0, 0]")


def test_decode_budget_refuses_before_decoding() -> None:
    """The decode budget is checked from the header: mode and size tell the cost."""
    from mugpos.images import decode_cost_bytes

    data = _save(Image.new("RGBA", (1000, 1000), (1, 2, 3, 4)), "PNG")
    cost = decode_cost_bytes("RGBA", 1000, 1000)
    assert cost > 1000 * 1000 * 4  # at least Pillow's own buffer
    with pytest.raises(ImageError, match="decode budget") as err:
        decode_image(data, max_decode_bytes=cost - 1)
    assert err.value.details["max_decode_bytes"] == cost - 1
    assert decode_image(data, max_decode_bytes=cost).pixels.shape == (1000, 1000, 3)


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: Image.fromarray(np.full((4, 6), 65535, np.int32)), 255),  # "I": 16-bit range
        (lambda: Image.fromarray(np.full((4, 6), 200, np.uint16)), 200),  # I;16 within 8 bits
        (lambda: Image.fromarray(np.full((4, 6), 0.5, np.float32)), 128),  # "F" in [0, 1]
        (lambda: Image.fromarray(np.full((4, 6), 4.0, np.float32)), 255),  # "F" over 1: to max
        (lambda: _transparent_palette(), 255),  # transparent palette entry: white
    ],
)
def test_wide_and_palette_modes_convert_right(make, expected: int) -> None:  # type: ignore[no-untyped-def]
    """Modes PNG cannot carry (32-bit integer, float) reach the converter from TIFF and WebP
    decoders of other callers; the conversion is checked on the Pillow image directly."""
    from mugpos.images import _to_rgb_array

    pixels = _to_rgb_array(make())
    assert pixels.shape == (4, 6, 3) and pixels.dtype == np.uint8
    assert pixels[1, 1].tolist() == [expected] * 3


def _transparent_palette() -> Image.Image:
    img = Image.new("P", (6, 4), 0)
    img.putpalette([10, 20, 30, 200, 0, 0])
    img.info["transparency"] = 0  # palette entry 0 is transparent: composited on white
    return img
