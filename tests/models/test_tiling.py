"""Sliced inference: windows, exact box mapping and merging across tile borders.

The detector here is a real one of a simple kind: it finds pure-red blobs by connected
components, but like a network it works at a fixed input size (300x300) and cannot see a blob
smaller than 12 px at that size. So it misses small blobs in a wide image unless the image is
tiled, and it sees only the part of a blob that lies inside a tile, exactly as a real model does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from scipy import ndimage

from mugpos.detections import Box, Detection
from mugpos.models.base import Detector
from mugpos.models.catalog import InputSpec, ModelSpec
from mugpos.models.tiling import TiledDetector, TilingConfig, merge_detections, tile_windows

MIN_PX_AT_INPUT = 12


class RedBlobDetector(Detector):
    def __init__(self) -> None:
        self.spec = ModelSpec(
            id="red-blobs",
            family="ssd",
            tasks=("detect",),
            version="1",
            license="test",
            description="pure-red blob finder with a 300x300 input",
            files=(),
            input=InputSpec(width=300, height=300),
        )
        self.calls: list[int] = []

    def detect_batch(
        self,
        images: Sequence[np.ndarray],
        *,
        score_threshold: float = 0.3,
        iou_threshold: float = 0.45,
    ) -> list[list[Detection]]:
        self.calls.append(len(images))
        return [self._one(im) for im in images]

    def _one(self, im: np.ndarray) -> list[Detection]:
        h, w = im.shape[:2]
        sx, sy = 300 / w, 300 / h  # stretched to the input, as the SSD does
        red = (im[..., 0] == 255) & (im[..., 1] == 0) & (im[..., 2] == 0)
        labels, _ = ndimage.label(red)
        out = []
        for sl in ndimage.find_objects(labels):
            if sl is None:
                continue
            ys, xs = sl
            bw, bh = xs.stop - xs.start, ys.stop - ys.start
            if bw * sx < MIN_PX_AT_INPUT or bh * sy < MIN_PX_AT_INPUT:
                continue
            box = Box(x1=xs.start, y1=ys.start, x2=xs.stop, y2=ys.stop)
            out.append(Detection(label="mug", raw_label="red", score=0.9, box=box))
        return out


def _canvas(w: int, h: int, boxes: Sequence[tuple[int, int, int, int]]) -> np.ndarray:
    im = np.full((h, w, 3), 90, np.uint8)
    for x1, y1, x2, y2 in boxes:
        im[y1:y2, x1:x2] = (255, 0, 0)
    return im


def _match(found: list[Detection], truth: Sequence[tuple[int, int, int, int]]) -> list[float]:
    return [max(d.box.iou(Box.from_xyxy(t)) for d in found) for t in truth]


def test_windows_cover_the_image_and_stay_inside() -> None:
    for w, h in [(1366, 768), (1920, 1080), (301, 299), (4000, 120)]:
        wins = tile_windows(w, h, 300, 0.2, 64)
        covered = np.zeros((h, w), bool)
        for x1, y1, x2, y2 in wins:
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
            assert x2 - x1 == min(300, w) and y2 - y1 == min(300, h)
            covered[y1:y2, x1:x2] = True
        assert covered.all(), (w, h)
        # The last row and column are flush with the image's edges.
        assert max(x2 for *_, x2, _ in wins) == w and max(y2 for *_, y2 in wins) == h


def test_a_huge_image_gets_a_bounded_number_of_tiles() -> None:
    wins = tile_windows(20_000, 15_000, 300, 0.2, 24)
    assert 1 < len(wins) <= 24
    side = wins[0][2] - wins[0][0]
    assert side > 300  # tiles grew to fit the budget


def test_small_blobs_across_tile_borders_merge_to_one_box_each() -> None:
    det = RedBlobDetector()
    tiled = TiledDetector(det, TilingConfig(mode="on", overlap=0.2))
    w, h = 1366, 768
    wins = tiled.windows(w, h)
    # Blobs straddling the first interior tile borders, one near the bottom-right corner, one
    # fully inside a tile; all far too small for the full-image pass (1366 px -> 300 px).
    xb, yb = wins[0][2], next(win for win in wins if win[1] > 0)[1]
    truth = [
        (xb - 15, 40, xb + 15, 70),
        (200, yb - 12, 236, yb + 14),
        (xb - 10, yb - 10, xb + 18, yb + 16),
        (w - 30, h - 28, w - 2, h - 1),
        (700, 380, 728, 410),
    ]
    image = _canvas(w, h, truth)
    assert det.detect(image) == []  # invisible at full-image scale
    found = tiled.detect(image)
    assert len(found) == len(truth)
    assert min(_match(found, truth)) >= 0.95


def test_large_objects_cut_by_tiles_stay_whole() -> None:
    det = RedBlobDetector()
    tiled = TiledDetector(det, TilingConfig(mode="on", overlap=0.2))
    truth = [(250, 200, 900, 650)]  # spans several tiles; seen whole by the full pass
    found = tiled.detect(_canvas(1366, 768, truth))
    assert len(found) == 1
    assert _match(found, truth)[0] >= 0.99


def test_an_image_smaller_than_a_tile_is_one_plain_pass() -> None:
    det = RedBlobDetector()
    tiled = TiledDetector(det, TilingConfig(mode="on"))
    image = _canvas(250, 180, [(10, 10, 60, 50)])
    assert tiled.windows(250, 180) == []
    assert tiled.detect(image) == det.detect(image)


def test_auto_tiles_only_large_images() -> None:
    tiled = TiledDetector(RedBlobDetector(), TilingConfig(mode="auto"))
    assert tiled.windows(400, 300) == []  # under 1.5 x 300 px
    assert len(tiled.windows(1366, 768)) > 1
    off = TiledDetector(RedBlobDetector(), TilingConfig(mode="off"))
    assert off.windows(4000, 3000) == []


def test_every_tile_of_every_image_goes_through_one_batch_call() -> None:
    det = RedBlobDetector()
    tiled = TiledDetector(det, TilingConfig(mode="on"))
    images = [_canvas(1366, 768, []), _canvas(900, 600, [])]
    tiled.detect_batch(images)
    expected = sum(1 + len(tiled.windows(im.shape[1], im.shape[0])) for im in images)
    assert det.calls == [expected]


def test_merge_keeps_labels_apart_and_the_best_score() -> None:
    def d(label: str, score: float, box: tuple[float, float, float, float]) -> Detection:
        return Detection(label=label, raw_label=label, score=score, box=Box.from_xyxy(box))

    dets = [
        d("mug", 0.6, (0, 0, 50, 50)),
        d("mug", 0.9, (10, 0, 60, 50)),  # overlaps the first: merged into it
        d("laptop", 0.5, (0, 0, 50, 50)),  # same place, other label: kept
        d("mug", 0.4, (200, 200, 220, 220)),
    ]
    merged = merge_detections(dets)
    assert [(m.label, m.score) for m in merged] == [("mug", 0.9), ("laptop", 0.5), ("mug", 0.4)]
    assert merged[0].box.as_tuple() == (0.0, 0.0, 60.0, 50.0)


@pytest.mark.parametrize("mode", ["off", "auto", "on"])
def test_the_real_ssd_finds_small_cups_only_tiled(ssd, mode: str) -> None:  # type: ignore[no-untyped-def]
    import skimage.data
    from PIL import Image

    # The real coffee cup at a quarter size (about 60 px) four times on a wide 1600x900 canvas:
    # about 11 px at the SSD's input when the whole image is squeezed into 300x300.
    small = np.asarray(Image.fromarray(skimage.data.coffee()).resize((150, 100)))
    photo = np.full((900, 1600, 3), 120, np.uint8)
    spots = [(100, 100), (700, 400), (1300, 700), (400, 650)]
    for x, y in spots:
        photo[y : y + 100, x : x + 150] = small
    tiled = TiledDetector(ssd, TilingConfig(mode=mode))
    scene = tiled.detect_scene(photo)
    plain = ssd.detect_scene(photo)
    assert scene.embedding is not None
    np.testing.assert_array_equal(scene.embedding, plain.embedding)
    mugs = [d for d in scene.detections if d.label == "mug"]
    assert not [d for d in plain.detections if d.label == "mug"]
    if mode == "off":
        assert scene.detections == plain.detections
        return
    assert len(mugs) == len(spots)
    for x, y in spots:  # each cup found where it was pasted (the cup is the left part)
        assert any(
            x <= d.box.center[0] <= x + 150 and y <= d.box.center[1] <= y + 100 for d in mugs
        )
