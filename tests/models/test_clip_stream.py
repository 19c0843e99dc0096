"""CLIP from encoded bytes with decoding in worker processes gives the vectors that
``embed_images`` gives on the decoded photos, in order, whatever the batch and chunk sizes."""

from __future__ import annotations

import numpy as np
import pytest

from mugpos.images import decode_image, encode_jpeg


@pytest.mark.slow
def test_embed_encoded_matches_embed_images_in_order(clip_torch, photos) -> None:  # type: ignore[no-untyped-def]
    from mugpos.models.clip_stream import embed_encoded, iter_crop_batches

    names = ["coffee", "tall", "wide", "chelsea", "small", "rocket", "astronaut"]
    encoded = [encode_jpeg(photos[n]) for n in names]
    direct = clip_torch.embed_images([decode_image(b).pixels for b in encoded])
    streamed = embed_encoded(clip_torch, encoded, workers=2, batch_size=3)
    assert streamed.shape == direct.shape
    np.testing.assert_allclose(streamed, direct, atol=1e-5)
    # Distinct photos stay apart: a reordering would not pass the check above by accident.
    assert float((direct[0] * direct[1:]).sum(axis=1).max()) < 0.999
    inline = embed_encoded(clip_torch, encoded, workers=0, batch_size=3)
    np.testing.assert_array_equal(inline, streamed)
    sizes = [len(b) for b in iter_crop_batches(encoded, 224, 5, workers=0, chunk=2)]
    assert sizes == [4, 3]  # a chunk never splits across batches; nothing lost


def test_embed_encoded_of_nothing_is_empty(clip_torch) -> None:  # type: ignore[no-untyped-def]
    from mugpos.models.clip_stream import embed_encoded

    assert embed_encoded(clip_torch, []).shape == (0, clip_torch.dim)


def test_reduced_decode_keeps_the_crop_size_and_stays_close(clip_torch, photos) -> None:  # type: ignore[no-untyped-def]
    """JPEGs decode at the smallest DCT scale whose shorter side still covers the crop."""
    from mugpos.models.clip_stream import embed_encoded

    big = np.ascontiguousarray(np.repeat(np.repeat(photos["coffee"], 2, axis=0), 2, axis=1))
    encoded = encode_jpeg(big)  # 800 x 1200: 1/2 scale keeps 400 >= 224, 1/4 would not
    assert decode_image(encoded, min_side=224).pixels.shape == (400, 600, 3)
    assert decode_image(encoded, min_side=150).pixels.shape == (200, 300, 3)
    assert decode_image(encoded, min_side=100).pixels.shape == (100, 150, 3)
    assert decode_image(encoded).pixels.shape == big.shape
    png = decode_image(_png(big), min_side=224)  # only JPEG has DCT scaling
    assert png.pixels.shape == big.shape
    exact = embed_encoded(clip_torch, [encoded], workers=0)
    reduced = embed_encoded(clip_torch, [encoded], workers=0, reduced_decode=True)
    assert 0.95 < float((exact * reduced).sum()) < 1.0


def _png(pixels: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()
