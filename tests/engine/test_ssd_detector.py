"""The offline default detector and embedder on real photos and real weights."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image

from mugpos.detections import Box
from mugpos.images import decode_image
from mugpos.models.ssd_decode import SsdAnchorOptions, decode_boxes, ssd_anchors
from mugpos.samples import COFFEE_CUP_BOX, sample_photo

CUP = Box.from_xyxy(COFFEE_CUP_BOX)


def _best_mug(dets):  # type: ignore[no-untyped-def]
    mugs = [d for d in dets if d.label == "mug"]
    return max(mugs, key=lambda d: d.score) if mugs else None


def test_anchor_layout_matches_mediapipe() -> None:
    anchors = ssd_anchors()
    assert anchors.shape == (1917, 4)
    # First anchor: lowest layer (19x19 map), cell (0, 0), scale 0.1, ratio 1.
    np.testing.assert_allclose(anchors[0], [0.5 / 19, 0.5 / 19, 0.1, 0.1], rtol=1e-6)
    # Second: ratio 2 at scale 0.2 → h = 0.2/sqrt(2), w = 0.2*sqrt(2).
    np.testing.assert_allclose(anchors[1, 2:], [0.2 / 2**0.5, 0.2 * 2**0.5], rtol=1e-5)
    # Last anchor: 1x1 map, centre, interpolated scale sqrt(0.95 * 1.0).
    np.testing.assert_allclose(anchors[-1], [0.5, 0.5, 0.95**0.5, 0.95**0.5], rtol=1e-5)
    assert (
        len(ssd_anchors(SsdAnchorOptions(reduce_boxes_in_lowest_layer=False))) == 19 * 19 * 6 + 834
    )


def test_zero_encoding_decodes_to_the_anchor() -> None:
    anchors = ssd_anchors()[:5]
    boxes = decode_boxes(np.zeros((5, 4), np.float32), anchors)
    np.testing.assert_allclose((boxes[:, 0] + boxes[:, 2]) / 2, anchors[:, 1], atol=1e-6)
    np.testing.assert_allclose(boxes[:, 3] - boxes[:, 1], anchors[:, 2], atol=1e-6)


def test_coffee_cup_is_a_mug(ssd) -> None:  # type: ignore[no-untyped-def]
    mug = _best_mug(ssd.detect(sample_photo("coffee")))
    assert mug is not None
    assert mug.score >= 0.4
    assert mug.box.iou(CUP) >= 0.5
    assert mug.raw_label in ("Mug", "Coffee cup") and mug.model_id == "ssd-mobilenetv2-oidv4"


@pytest.mark.parametrize("name", ["chelsea", "astronaut", "rocket"])
def test_negatives_have_no_mug(ssd, name: str) -> None:  # type: ignore[no-untyped-def]
    dets = ssd.detect(sample_photo(name), score_threshold=0.3)
    assert [d for d in dets if d.label == "mug"] == []


def test_boxes_are_in_the_upright_frame_of_an_exif_rotated_jpeg(ssd) -> None:  # type: ignore[no-untyped-def]
    upright = sample_photo("coffee")
    stored = np.ascontiguousarray(np.rot90(upright, k=1))  # stored rotated 90° counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6  # viewer rotates 90° clockwise → upright
    buf = io.BytesIO()
    Image.fromarray(stored).save(buf, format="JPEG", quality=95, exif=exif.tobytes())
    decoded = decode_image(buf.getvalue())
    assert (decoded.width, decoded.height) == (600, 400)
    mug = _best_mug(ssd.detect(decoded.pixels))
    assert mug is not None and mug.box.iou(CUP) >= 0.5


def test_feature_output_model_is_faithful(ssd) -> None:  # type: ignore[no-untyped-def]
    """The rewritten model gives exactly what LiteRT's keep-all-tensors mode reads inside."""
    from ai_edge_litert.interpreter import Interpreter

    original = ssd.model_path.parent / ssd.spec.primary.name
    ref = Interpreter(
        model_path=str(original), num_threads=2, experimental_preserve_all_tensors=True
    )
    ref.allocate_tensors()
    x = ssd.preprocess(sample_photo("coffee"))
    ref.set_tensor(ref.get_input_details()[0]["index"], x)
    ref.invoke()
    names = {t["name"]: t["index"] for t in ref.get_tensor_details()}
    feat_idx = next(
        i for n, i in names.items() if n.startswith("FeatureExtractor/MobilenetV2/Conv_1/Relu6")
    )
    ref_feat = ref.get_tensor(feat_idx)[0]
    ref_emb = ref_feat.reshape(-1, 1280).mean(0)
    ref_emb /= np.linalg.norm(ref_emb)
    ours = ssd.run(sample_photo("coffee")).embedding
    np.testing.assert_allclose(ours, ref_emb, atol=1e-6)


def test_embedding_flip_is_close_and_unrelated_is_not(ssd) -> None:  # type: ignore[no-untyped-def]
    coffee = sample_photo("coffee")
    emb = ssd.embed_images(
        [
            coffee,
            np.ascontiguousarray(coffee[:, ::-1]),
            sample_photo("rocket"),
            sample_photo("chelsea"),
        ]
    )
    assert emb.shape == (4, 1280) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    flipped, rocket, cat = (float(emb[0] @ emb[i]) for i in (1, 2, 3))
    assert flipped >= 0.95
    assert flipped - max(rocket, cat) > 0.15


def test_text_embedding_needs_clip(ssd) -> None:  # type: ignore[no-untyped-def]
    from mugpos.errors import UnsupportedOperationError

    assert not ssd.has_text
    with pytest.raises(UnsupportedOperationError, match="needs a CLIP embedder"):
        ssd.embed_texts(["a mug next to a laptop"])


def test_batch_equals_single_and_threads_agree(ssd) -> None:  # type: ignore[no-untyped-def]
    images = [sample_photo(n) for n in ("coffee", "astronaut", "rocket")]
    batch = ssd.detect_batch(images, score_threshold=0.2)
    singles = [ssd.detect(im, score_threshold=0.2) for im in images]
    assert batch == singles
    results: dict[int, list] = {}

    def work(i: int) -> None:
        results[i] = ssd.detect(images[0], score_threshold=0.2)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == singles[0] for r in results.values())


def test_what_runs_is_verified_not_a_derived_file_on_disk(ssd, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A stale or swapped ``*.features-*.tflite`` beside the model is never run (the rewrite
    is made in memory from the verified shipped bytes), and shipped bytes that do not match
    their pin are refused."""
    import shutil
    from pathlib import Path

    from mugpos.errors import ChecksumError
    from mugpos.fileio import sha256_file
    from mugpos.models.ssd import SsdMobileNetV2

    source = ssd.model_path.parent / ssd.spec.primary.name
    folder = tmp_path / "model"
    folder.mkdir()
    shipped = Path(shutil.copy(source, folder / source.name))
    labels = Path(shutil.copy(source.with_name("labels.txt"), folder / "labels.txt"))
    # What older builds derived and reused whenever present, here replaced by other bytes: the
    # shipped model itself, which lacks the feature output.
    stale = folder / f"{source.stem}.features-{sha256_file(source)[:16]}.tflite"
    shutil.copy(source, stale)
    detector = SsdMobileNetV2(ssd.spec, shipped, labels, num_threads=1)
    mug = _best_mug(detector.detect(sample_photo("coffee")))
    assert mug is not None and mug.box.iou(CUP) >= 0.5
    np.testing.assert_allclose(
        detector.run(sample_photo("coffee")).embedding,
        ssd.run(sample_photo("coffee")).embedding,
        atol=1e-6,
    )

    tampered = bytearray(shipped.read_bytes())
    tampered[len(tampered) // 2] ^= 0xFF
    shipped.write_bytes(bytes(tampered))
    with pytest.raises(ChecksumError, match="refusing to load"):
        SsdMobileNetV2(ssd.spec, shipped, labels, num_threads=1)
