"""CLIP: our numpy/PIL preprocessing and BPE tokenizer against open_clip's, and the ONNX towers
against open_clip on torch, on a tiny random-initialised model of a real architecture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mugpos.errors import UnsupportedOperationError
from mugpos.models.clip import BPE_VOCAB_NAME, ClipOnnxEmbedder, ClipTokenizer, packaged_bpe_path
from mugpos.models.preprocess import clip_preprocess, clip_preprocess_batch

TEXTS = [
    "a photo of a mug",
    "A white coffee CUP on a saucer, next to a laptop!",
    "  mug   left of the   keyboard  ",
    "tasse à café & thé &amp; 咖啡杯",  # non-ASCII and an HTML entity
    "mug 10cm from the edge, 5% margin; it's #1",
    "",
    " ".join(["mug"] * 100),  # longer than the 77-token context: truncated, end token kept
]


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def test_preprocess_matches_open_clip(photos: dict[str, np.ndarray], tiny_clip_spec) -> None:  # type: ignore[no-untyped-def]
    from open_clip.transform import image_transform
    from PIL import Image

    mean, std = tiny_clip_spec.input.mean, tiny_clip_spec.input.std
    ref_tf = image_transform(224, is_train=False, mean=mean, std=std)
    for name, im in photos.items():
        ref = ref_tf(Image.fromarray(im)).numpy()
        ours = clip_preprocess(im, 224, mean, std)
        assert ours.shape == ref.shape == (3, 224, 224), name
        assert np.abs(ours - ref).max() < 1e-5, name
    batch = clip_preprocess_batch(list(photos.values()) * 2, 224, mean, std)  # threaded path
    assert batch.shape == (2 * len(photos), 3, 224, 224)
    np.testing.assert_array_equal(batch[0], clip_preprocess(photos["coffee"], 224, mean, std))


def test_tokenizer_matches_open_clip() -> None:
    from open_clip import get_tokenizer

    path = packaged_bpe_path()
    assert path is not None
    ours = ClipTokenizer(path)(TEXTS)
    ref = get_tokenizer("ViT-B-32")(TEXTS).numpy()
    assert ours.dtype == np.int64 and ours.shape == (len(TEXTS), 77)
    np.testing.assert_array_equal(ours, ref)
    assert ours[-1, -1] == 49407  # truncated row still ends with <end_of_text>


@pytest.mark.slow
def test_image_embeddings_match_torch(clip_torch, clip_onnx, photos: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
    images = list(photos.values())
    ref = clip_torch.embed_images(images)
    ours = clip_onnx.embed_images(images)
    assert ours.shape == ref.shape == (len(images), 64) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert cosine(ours, ref).min() >= 0.999
    # the comparison means something only if different photos embed differently
    sims = ref @ ref.T
    assert sims[~np.eye(len(images), dtype=bool)].min() < 0.99


@pytest.mark.slow
def test_text_embeddings_match_torch(clip_torch, clip_onnx) -> None:  # type: ignore[no-untyped-def]
    assert clip_onnx.has_text
    ref = clip_torch.embed_texts(TEXTS)
    ours = clip_onnx.embed_texts(TEXTS)
    assert ours.shape == ref.shape == (len(TEXTS), 64)
    assert cosine(ours, ref).min() >= 0.999
    sims = ref @ ref.T
    assert sims[~np.eye(len(TEXTS), dtype=bool)].min() < 0.99


@pytest.mark.slow
def test_onnx_batching_is_consistent(  # type: ignore[no-untyped-def]
    tiny_clip_spec, clip_onnx_paths: tuple[Path, Path], photos: dict[str, np.ndarray]
) -> None:
    images = list(photos.values())
    small = ClipOnnxEmbedder(tiny_clip_spec, *clip_onnx_paths, batch_size=2)  # 9 -> 5 runs
    one = np.concatenate([small.embed_images([im]) for im in images])
    np.testing.assert_allclose(small.embed_images(images), one, atol=1e-5)
    assert small.embed_images([]).shape == (0, 64)
    assert small.embed_texts([]).shape == (0, 64)


@pytest.mark.slow
def test_export_is_self_contained(  # type: ignore[no-untyped-def]
    tiny_clip_spec, clip_onnx_paths: tuple[Path, Path]
) -> None:
    import onnx

    image, text = clip_onnx_paths
    assert (text.parent / BPE_VOCAB_NAME).is_file()  # tokenizer vocabulary shipped beside it
    meta = {p.key: p.value for p in onnx.load(str(image), load_external_data=False).metadata_props}
    assert meta["mugpos.image_size"] == "224"
    assert not list(image.parent.glob(".*partial*"))  # atomic writes left nothing behind


@pytest.mark.slow
def test_image_only_export(clip_torch, tiny_clip_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mugpos.models.export import export_clip_onnx

    image, text = export_clip_onnx(clip_torch, tmp_path / "image.onnx", None)
    assert text is None
    emb = ClipOnnxEmbedder(tiny_clip_spec, image, tmp_path / "text.onnx")  # no such file
    assert not emb.has_text
    with pytest.raises(UnsupportedOperationError):
        emb.embed_texts(["a mug"])


@pytest.mark.slow
def test_weights_file_round_trip(  # type: ignore[no-untyped-def]
    tiny_clip_spec, tiny_clip_weights: Path, clip_torch, photos: dict[str, np.ndarray]
) -> None:
    """The embedder built from the weights file embeds like a model built from the same seed."""
    import open_clip
    import torch

    from mugpos.device import choose_device
    from mugpos.models.clip import OpenClipEmbedder

    torch.manual_seed(0)
    fresh = open_clip.create_model(tiny_clip_spec.architecture, pretrained=None)
    injected = OpenClipEmbedder(tiny_clip_spec, None, device=choose_device("cpu"), model=fresh)
    im = [photos["coffee"]]
    np.testing.assert_allclose(injected.embed_images(im), clip_torch.embed_images(im), atol=1e-6)
    torch.manual_seed(1)
    other = OpenClipEmbedder(tiny_clip_spec, None, device=choose_device("cpu"))
    assert float(cosine(other.embed_images(im), clip_torch.embed_images(im))[0]) < 0.99


@pytest.mark.slow
def test_onnx_embedder_never_imports_torch(  # type: ignore[no-untyped-def]
    tiny_clip_spec, clip_onnx_paths: tuple[Path, Path], run_python
) -> None:
    image, text = clip_onnx_paths
    out = run_python(
        f"""
import sys, numpy as np
from mugpos.models.catalog import CLIP_VIT_B32
from mugpos.models.clip import ClipOnnxEmbedder
spec = CLIP_VIT_B32.model_copy(update={{"embedding_dim": 64}})
emb = ClipOnnxEmbedder(spec, {str(image)!r}, {str(text)!r})
img = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
print(emb.embed_images([img]).shape, emb.embed_texts(["a mug"]).shape,
      sorted(m for m in ("torch", "open_clip", "ultralytics") if m in sys.modules))
"""
    )
    assert out.strip() == "(1, 64) (1, 64) []"
