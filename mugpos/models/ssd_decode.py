"""SSD anchor generation and box decoding for MediaPipe's SSD MobileNetV2 (Open Images v4).

Follows MediaPipe's ``SsdAnchorsCalculator`` and ``TensorsToDetectionsCalculator`` with the
options of the Objectron OIDv4 detection subgraph: 6 layers, scales 0.2–0.95, strides 16–512,
aspect ratios 1, 2, 0.5, 3, 1/3 plus an interpolated scale, three boxes in the lowest layer,
box-coding scales 10/10/5/5, sigmoid class scores. Pure numpy, computed once per process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class SsdAnchorOptions:
    num_layers: int = 6
    min_scale: float = 0.2
    max_scale: float = 0.95
    input_height: int = 300
    input_width: int = 300
    anchor_offset: float = 0.5
    strides: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    aspect_ratios: tuple[float, ...] = (1.0, 2.0, 0.5, 3.0, 0.3333)
    interpolated_scale_aspect_ratio: float = 1.0
    reduce_boxes_in_lowest_layer: bool = True


@dataclass(frozen=True)
class BoxCoding:
    y_scale: float = 10.0
    x_scale: float = 10.0
    h_scale: float = 5.0
    w_scale: float = 5.0


def _scale(opts: SsdAnchorOptions, index: int) -> float:
    if opts.num_layers == 1:
        return (opts.min_scale + opts.max_scale) / 2.0
    return opts.min_scale + (opts.max_scale - opts.min_scale) * index / (opts.num_layers - 1)


@lru_cache(maxsize=4)
def ssd_anchors(opts: SsdAnchorOptions = SsdAnchorOptions()) -> np.ndarray:
    """Anchors as an ``N x 4`` array of (y_center, x_center, h, w), normalised to [0, 1]."""
    rows: list[tuple[float, float, float, float]] = []
    layer = 0
    n_strides = len(opts.strides)
    while layer < opts.num_layers:
        ratios: list[float] = []
        scales: list[float] = []
        last = layer
        while last < n_strides and opts.strides[last] == opts.strides[layer]:
            scale = _scale(opts, last)
            if last == 0 and opts.reduce_boxes_in_lowest_layer:
                ratios += [1.0, 2.0, 0.5]
                scales += [0.1, scale, scale]
            else:
                ratios += list(opts.aspect_ratios)
                scales += [scale] * len(opts.aspect_ratios)
                if opts.interpolated_scale_aspect_ratio > 0:
                    nxt = 1.0 if last == n_strides - 1 else _scale(opts, last + 1)
                    scales.append(math.sqrt(scale * nxt))
                    ratios.append(opts.interpolated_scale_aspect_ratio)
            last += 1
        sizes = [(s / math.sqrt(r), s * math.sqrt(r)) for s, r in zip(scales, ratios, strict=True)]
        stride = opts.strides[layer]
        fm_h = math.ceil(opts.input_height / stride)
        fm_w = math.ceil(opts.input_width / stride)
        for y in range(fm_h):
            for x in range(fm_w):
                yc = (y + opts.anchor_offset) / fm_h
                xc = (x + opts.anchor_offset) / fm_w
                rows.extend((yc, xc, h, w) for h, w in sizes)
        layer = last
    anchors = np.asarray(rows, dtype=np.float32)
    anchors.flags.writeable = False
    return anchors


def decode_boxes(
    raw: np.ndarray,
    anchors: np.ndarray,
    coding: BoxCoding = BoxCoding(),
) -> np.ndarray:
    """Raw ``N x 4`` encodings (ty, tx, th, tw) → normalised ``N x 4`` boxes (x1, y1, x2, y2)."""
    ay, ax, ah, aw = anchors[:, 0], anchors[:, 1], anchors[:, 2], anchors[:, 3]
    yc = raw[:, 0] / coding.y_scale * ah + ay
    xc = raw[:, 1] / coding.x_scale * aw + ax
    h = np.exp(raw[:, 2] / coding.h_scale) * ah
    w = np.exp(raw[:, 3] / coding.w_scale) * aw
    return np.stack([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2], axis=1)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))
