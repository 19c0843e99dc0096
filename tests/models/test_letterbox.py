"""Letterbox and scale-back arithmetic: hand-computed cases, then ultralytics as the oracle."""

from __future__ import annotations

import numpy as np
import pytest

from mugpos.models.preprocess import (
    clip_resize_size,
    letterbox,
    letterbox_params,
    scale_boxes_back,
)


def test_landscape_to_square_hand_computed() -> None:
    # 400x600 into 320x320: r = min(320/400, 320/600) = 0.5333; resized 320 x round(213.33)=213;
    # vertical padding 107 splits round(53.5 - 0.1)=53 above, round(53.5 + 0.1)=54 below.
    p = letterbox_params((400, 600), (320, 320))
    assert (p.new_h, p.new_w, p.top, p.left, p.out_h, p.out_w) == (213, 320, 53, 0, 320, 320)
    assert p.gain_x == pytest.approx(320 / 600) and p.gain_y == pytest.approx(213 / 400)


def test_exact_fit_and_upscale() -> None:
    p = letterbox_params((480, 640), (640, 640))  # r = 1: no resize, 160 rows of padding
    assert (p.new_h, p.new_w, p.top, p.left) == (480, 640, 80, 0)
    p = letterbox_params((100, 50), (640, 640))  # upscaled 6.4x (scaleup=True)
    assert (p.new_h, p.new_w, p.top, p.left) == (640, 320, 0, 160)


def test_odd_padding_and_thin_images() -> None:
    # 37x61 into 320: r = 5.2459; 320 x round(194.1)=194; padding 126 -> 63 / 63
    p = letterbox_params((37, 61), (320, 320))
    assert (p.new_h, p.new_w, p.top) == (194, 320, 63)
    p = letterbox_params((1, 3000), (640, 640))  # a 1-pixel-high strip stays 1 pixel high
    assert (p.new_h, p.new_w, p.top, p.out_h) == (1, 640, 319, 640)


def test_rect_mode_pads_to_stride_only() -> None:
    # 400x600 -> 213x320 resized; padding 107 % 32 = 11 -> 5 above, 6 below; output 224 high.
    p = letterbox_params((400, 600), (320, 320), auto=True, stride=32)
    assert (p.out_h, p.out_w, p.top, p.left) == (224, 320, 5, 0)


def test_letterbox_pixels() -> None:
    img = np.full((4, 8, 3), 7, dtype=np.uint8)  # 4x8 -> 8x16 (x2), padding 4 above and below
    out, p = letterbox(img, (16, 16))
    assert out.shape == (16, 16, 3) and (p.top, p.new_h) == (4, 8)
    assert (out[:4] == 114).all() and (out[12:] == 114).all() and (out[4:12] == 7).all()


def test_scale_back_hand_computed() -> None:
    p = letterbox_params((400, 600), (320, 320))  # gains 320/600 and 213/400, top 53
    boxes = np.array(
        [
            [0, 53, 320, 266],  # the whole resized image -> the whole photo
            [160, 159.5, 240, 212.75],  # -> (300, 200, 450, 300)
            [-10, 0, 330, 200],  # x and top outside -> clipped to the photo
        ],
        dtype=np.float32,
    )
    out = scale_boxes_back(boxes, p)
    np.testing.assert_allclose(out[0], [0, 0, 600, 400], atol=1e-3)
    np.testing.assert_allclose(out[1], [300, 200, 450, 300], atol=1e-3)
    np.testing.assert_allclose(out[2], [0, 0, 600, (200 - 53) * 400 / 213], atol=1e-3)
    assert out is boxes  # in place


SHAPES = [(400, 600), (300, 451), (512, 512), (427, 640), (37, 61), (1080, 1920), (999, 17)]


@pytest.mark.parametrize("auto", [False, True])
def test_matches_ultralytics_letterbox(auto: bool) -> None:
    from ultralytics.data.augment import LetterBox

    rng = np.random.default_rng(0)
    for h, w in SHAPES:
        img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        for size in (320, (480, 640)):
            out_hw = (size, size) if isinstance(size, int) else size
            ref = LetterBox(out_hw, auto=auto, stride=32)(image=img)
            ours, _ = letterbox(img, out_hw, auto=auto, stride=32)
            assert ours.shape == ref.shape and np.array_equal(ours, ref), (h, w, size)


def test_scale_back_matches_ultralytics() -> None:
    import torch
    from ultralytics.utils.ops import scale_boxes

    rng = np.random.default_rng(1)
    for h, w in SHAPES:
        p = letterbox_params((h, w), (640, 640))
        boxes = rng.uniform(-20, 660, (50, 4)).astype(np.float32)
        boxes[:, 2:] = boxes[:, :2] + rng.uniform(0, 200, (50, 2)).astype(np.float32)
        ref = scale_boxes((640, 640), torch.from_numpy(boxes.copy()), (h, w)).numpy()
        np.testing.assert_array_equal(scale_boxes_back(boxes, p), ref)


def test_clip_resize_size_hand_computed() -> None:
    assert clip_resize_size((400, 600), 224) == (224, 336)
    assert clip_resize_size((512, 512), 224) == (224, 224)
    assert clip_resize_size((1000, 300), 224) == (746, 224)  # int(224 * 1000 / 300) = 746
