"""Sliced inference for any detector: the full image plus overlapping tiles, merged as SAHI does.

Desk photos are wide and mugs are small in them: a 30 px cup in a 1366 px photo is under 8 px at
the SSD's 300x300 input, where it cannot be found. Cutting the photo into tiles about the size of
the model's input keeps small objects at their own scale; the full-image pass keeps the large
ones (a laptop cut in four by the tiles is still seen whole).

The geometry and the merging come from the ``sahi`` package (``get_slice_bboxes`` and its
class-aware greedy non-maximum merging), not its prediction loop: that wants its own model
classes and runs the full image in a separate call, while we send the full image and every tile
of every image through one ``detect_batch`` call, so a batched backend (YOLO ONNX with a dynamic
batch) runs them together, and boxes stay our ``Detection`` objects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from mugpos.detections import Box, Detection
from mugpos.models.base import (
    DEFAULT_IOU_THRESHOLD,
    DEFAULT_SCORE_THRESHOLD,
    Detector,
    SceneOutput,
)

TilingMode = Literal["off", "auto", "on"]
Window = tuple[int, int, int, int]  # x1, y1, x2, y2 in source pixels


class TilingConfig(BaseModel):
    """How one variant tiles. ``auto`` tiles only when the image is large for the model: when
    its longer side is at least ``auto_min_ratio`` times the tile size (with 300 px tiles: from
    450 px up for the SSD; with 640 px tiles: from 960 px up for YOLO)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: TilingMode = "off"
    tile_size: int | None = Field(
        default=None,
        ge=32,
        le=8192,
        description="Tile side in source pixels; unset: the model input's longer side.",
    )
    zoom: tuple[float, ...] = Field(
        default=(1.0,),
        min_length=1,
        max_length=3,
        description="Tile levels as magnifications of the tile size: (1, 2) adds a level of "
        "tiles half as wide, which the model sees twice as large (objects of about 15-40 px "
        "that the first level still misses), at about four times the passes.",
    )
    overlap: float = Field(default=0.2, ge=0.0, le=0.75, description="Share of a tile side.")
    auto_min_ratio: float = Field(default=1.5, ge=1.0, le=16.0)
    max_tiles: int = Field(
        default=48,
        ge=1,
        le=512,
        description="Work bound per image and level: larger tiles are used when a level's grid "
        "would exceed it.",
    )
    merge_metric: Literal["IOS", "IOU"] = Field(
        default="IOS",
        description="Intersection over the smaller box (SAHI's default) merges a box cut by a "
        "tile border into the whole one.",
    )
    merge_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    drop_cut: bool = Field(
        default=True,
        description="Drop a tile's box that touches one of the tile's inner edges: the object "
        "runs on outside the tile, so the box is a fragment (a quarter of a laptop). An object "
        "smaller than the overlap lies whole in a neighbouring tile; a larger one is the full "
        "image's to find.",
    )
    edge_px: float = Field(default=2.0, ge=0.0, le=64.0)
    tile_labels: tuple[str, ...] | None = Field(
        default=None,
        description="Labels taken from tiles (unset: every label); others come from the full "
        "image only.",
    )

    @property
    def tag(self) -> str:
        """Short, stable name for variant keys and cache keys."""
        if self.mode == "off":
            return "full"
        size = self.tile_size or "in"
        zoom = "x".join(f"{z:g}" for z in self.zoom)
        return f"tiles-{self.mode}-{size}-z{zoom}-{self.overlap:g}"


def tile_windows(
    width: int, height: int, tile: int, overlap: float, max_tiles: int
) -> list[Window]:
    """Overlapping windows covering the image, the last row and column flush with its edges.

    When the grid for ``tile`` would exceed ``max_tiles``, the tile grows until it fits, so a
    huge image costs a bounded number of passes (each at a coarser scale).
    """
    from sahi.slicing import get_slice_bboxes

    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    size = int(tile)
    while True:
        windows = get_slice_bboxes(
            image_height=height,
            image_width=width,
            slice_height=min(size, height),
            slice_width=min(size, width),
            auto_slice_resolution=False,
            overlap_height_ratio=overlap,
            overlap_width_ratio=overlap,
        )
        if len(windows) <= max_tiles:
            return [(int(a), int(b), int(c), int(d)) for a, b, c, d in windows]
        size = math.ceil(size * math.sqrt(len(windows) / max_tiles) * 1.05)


class TiledDetector(Detector):
    """Wraps a detector: same model id and version, boxes from the full image plus tiles."""

    def __init__(self, inner: Detector, config: TilingConfig) -> None:
        self.inner = inner
        self.spec = inner.spec
        self.config = config
        self.tile_size = config.tile_size or max(inner.spec.input.width, inner.spec.input.height)

    @property
    def tiling(self) -> TilingConfig:
        return self.config

    def windows(self, width: int, height: int) -> list[Window]:
        """The tiles this image gets (empty when it is not tiled)."""
        cfg = self.config
        if cfg.mode == "off":
            return []
        if cfg.mode == "auto" and max(width, height) < cfg.auto_min_ratio * self.tile_size:
            return []
        wins: list[Window] = []
        for z in sorted(cfg.zoom):
            level = tile_windows(
                width, height, round(self.tile_size / z), cfg.overlap, cfg.max_tiles
            )
            wins.extend(w for w in level if w != (0, 0, width, height) and w not in wins)
        return wins

    def detect_batch(
        self,
        images: Sequence[np.ndarray],
        *,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    ) -> list[list[Detection]]:
        plans = [self.windows(im.shape[1], im.shape[0]) for im in images]
        crops: list[np.ndarray] = []
        for im, wins in zip(images, plans, strict=True):
            crops.append(im)
            crops.extend(im[y1:y2, x1:x2] for x1, y1, x2, y2 in wins)
        found = self.inner.detect_batch(
            crops, score_threshold=score_threshold, iou_threshold=iou_threshold
        )
        out, at = [], 0
        for im, wins in zip(images, plans, strict=True):
            full, tiles = found[at], found[at + 1 : at + 1 + len(wins)]
            at += 1 + len(wins)
            out.append(self._merge(full, tiles, wins, (im.shape[1], im.shape[0])))
        return out

    def detect_scene(
        self,
        image: np.ndarray,
        *,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    ) -> SceneOutput:
        """The inner model's full-image pass (with its scene embedding, if it has one), then the
        tiles in one batch."""
        scene = self.inner.detect_scene(
            image, score_threshold=score_threshold, iou_threshold=iou_threshold
        )
        wins = self.windows(image.shape[1], image.shape[0])
        if not wins:
            return scene
        tiles = self.inner.detect_batch(
            [image[y1:y2, x1:x2] for x1, y1, x2, y2 in wins],
            score_threshold=score_threshold,
            iou_threshold=iou_threshold,
        )
        size = (image.shape[1], image.shape[0])
        return SceneOutput(self._merge(scene.detections, tiles, wins, size), scene.embedding)

    def _merge(
        self,
        full: Sequence[Detection],
        tiles: Sequence[Sequence[Detection]],
        windows: Sequence[Window],
        size: tuple[int, int],
    ) -> list[Detection]:
        if not windows:
            return list(full)
        cfg = self.config
        from_tiles = []
        for win, found in zip(windows, tiles, strict=True):
            keep = [d for d in found if cfg.tile_labels is None or d.label in cfg.tile_labels]
            if cfg.drop_cut:
                keep = [d for d in keep if not _touches_inner_edge(d.box, win, size, cfg.edge_px)]
            from_tiles.extend(_shifted(d, win[0], win[1]) for d in keep)
        merged = merge_detections(from_tiles, cfg.merge_metric, cfg.merge_threshold)
        return _join(full, merged, cfg.merge_metric, cfg.merge_threshold)


def _join(
    full: Sequence[Detection], tiled: Sequence[Detection], metric: str, threshold: float
) -> list[Detection]:
    """The full image's detections plus the tiles' (already merged among themselves).

    The full image's boxes are never merged with each other: the detector's own NMS already
    judged them, and merging nested boxes of one pass only inflates them. A tile box that
    matches a full-image box of its label is the same object: the larger box stays (a tile may
    see only the screen of a laptop the full image saw whole; for a small mug both are alike),
    with the better score.
    """
    out = list(full)
    for t in tiled:
        tb = np.asarray(t.box.as_tuple())
        hits = [
            i
            for i, f in enumerate(out)
            if f.label == t.label
            and _overlap(np.asarray(f.box.as_tuple()), tb, metric) >= threshold
        ]
        if not hits:
            out.append(t)
            continue
        i = max(hits, key=lambda k: out[k].score)
        f = out[i]
        big = f if f.box.area >= t.box.area else t
        out[i] = big.model_copy(update={"score": max(f.score, t.score)})
    out.sort(key=lambda d: -d.score)
    return out


def _touches_inner_edge(box: Box, win: Window, image_wh: tuple[int, int], edge: float) -> bool:
    """Whether a box (in tile pixels) reaches an edge of the tile that is not the image's."""
    x1, y1, x2, y2 = win
    w, h = image_wh
    return (
        (x1 > 0 and box.x1 <= edge)
        or (y1 > 0 and box.y1 <= edge)
        or (x2 < w and box.x2 >= (x2 - x1) - edge)
        or (y2 < h and box.y2 >= (y2 - y1) - edge)
    )


def _shifted(d: Detection, dx: float, dy: float) -> Detection:
    b = d.box
    box = Box(x1=b.x1 + dx, y1=b.y1 + dy, x2=b.x2 + dx, y2=b.y2 + dy)
    return d.model_copy(update={"box": box})


def merge_detections(
    dets: Sequence[Detection], metric: Literal["IOS", "IOU"] = "IOS", threshold: float = 0.5
) -> list[Detection]:
    """Class-aware greedy non-maximum merging (SAHI's GREEDYNMM), repeated until stable.

    Each kept box, best score first, absorbs the lower-scored boxes of its label that overlap it
    by ``threshold``; the merged box is their union, the score the best one. One pass is not
    enough for tiles: when a quarter of a laptop seen by a tile outscores the whole laptop seen
    in the full image, the quarter absorbs the whole but not the other quarters, which only
    overlap the grown box. Passes repeat until nothing merges (at most ``len(dets)`` passes).
    """
    out = list(dets)
    for _ in range(len(out)):
        merged = _merge_pass(out, metric, threshold)
        if len(merged) == len(out):
            break
        out = merged
    out.sort(key=lambda d: -d.score)
    return out


def _merge_pass(dets: list[Detection], metric: str, threshold: float) -> list[Detection]:
    if len(dets) < 2:
        return dets
    from sahi.postprocess.combine import batched_greedy_nmm

    labels = sorted({d.label for d in dets})
    arr = np.asarray(
        [[*d.box.as_tuple(), d.score, labels.index(d.label)] for d in dets], dtype=np.float64
    )
    keep_to_merge = batched_greedy_nmm(arr, match_metric=metric, match_threshold=threshold)
    out = []
    for keep, members in keep_to_merge.items():
        box = arr[keep, :4].copy()
        for m in members:
            # As SAHI does: re-check against the growing box before taking a member in.
            if _overlap(box, arr[m, :4], metric) >= threshold:
                box[:2] = np.minimum(box[:2], arr[m, :2])
                box[2:] = np.maximum(box[2:], arr[m, 2:4])
        out.append(dets[keep].model_copy(update={"box": Box.from_xyxy(box.tolist())}))
    return out


def _overlap(a: np.ndarray, b: np.ndarray, metric: str) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    den = min(area_a, area_b) if metric == "IOS" else area_a + area_b - inter
    return float(inter / den) if den > 0 else 0.0
