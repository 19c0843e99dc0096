"""YOLOv8 / YOLO11 from an ultralytics ONNX export on ONNX Runtime: the serving path, no torch.

Preprocessing (letterbox), decoding and NMS are ours, in numpy, and copy ultralytics' predict
step for step (``LetterBox``, ``non_max_suppression`` with its defaults: best class per box,
class-aware NMS with a float32 per-class coordinate offset, ``max_det`` 300, then
``scale_boxes``), so the same ONNX file gives the same detections here as under
``YOLO(onnx).predict``; ``tests/models/test_yolo_onnx_parity.py`` holds us to that.

Why not ultralytics at serve time: it pulls in torch (about 5 GB) and adds per-call overhead
(data loaders, Results objects, torch round trips) around the same ONNX Runtime call.
"""

from __future__ import annotations

import ast
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mugpos.detections import Box, Detection
from mugpos.labels import canonical_label
from mugpos.models.base import DEFAULT_IOU_THRESHOLD, DEFAULT_SCORE_THRESHOLD, Detector
from mugpos.models.catalog import ModelSpec
from mugpos.models.preprocess import (
    LetterboxParams,
    letterbox_into,
    letterbox_params,
    scale_boxes_back,
    usable_cpus,
)

log = logging.getLogger(__name__)

MAX_DET = 300  # ultralytics' predict default
MAX_NMS = 30_000  # boxes kept (by score) before NMS, as ultralytics
MAX_WH = 7680  # ultralytics' per-class coordinate offset for class-aware NMS
DEFAULT_BATCH = 8  # images per session run when the export has a dynamic batch


def onnx_session(
    path: Path | str,
    providers: Sequence[str] | None = None,
    num_threads: int | None = None,
    *,
    spinning: bool = False,
) -> object:
    """An ONNX Runtime session tuned for latency on a shared CPU.

    intra-op threads = usable CPUs (ORT's default counts the host's cores, which oversubscribes
    a container), one inter-op thread and sequential execution (these graphs are chains, so
    parallel execution only adds scheduling), every graph optimisation. Idle worker threads
    block instead of spinning: measured here, spinning did not make a YOLO run faster, but a
    spinning pool stole the CPU from the next session's run (another model, or the API's own
    threads) and slowed it by 20-40 ms.
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = num_threads or usable_cpus()
    so.inter_op_num_threads = 1
    if not spinning:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    available = set(ort.get_available_providers())
    wanted = [p for p in (providers or ["CPUExecutionProvider"]) if p in available]
    return ort.InferenceSession(str(path), so, providers=wanted or ["CPUExecutionProvider"])


def parse_names(meta: dict[str, str]) -> dict[int, str] | None:
    """Class names from ultralytics' ONNX metadata (a Python dict literal), or None."""
    raw = meta.get("names")
    if not raw:
        return None
    try:
        names = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        log.warning("unreadable 'names' metadata in ONNX model: %.80s", raw)
        return None
    if not isinstance(names, dict):
        return None
    return {int(k): str(v) for k, v in names.items()}


def nms_f32(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, limit: int) -> np.ndarray:
    """Greedy NMS in float32 with torchvision's arithmetic; kept indices, best score first.

    Unlike :func:`mugpos.models.nms.nms` (float64) this reproduces torchvision's float32 IoU
    exactly, so borderline suppressions agree with ultralytics, and stops once ``limit`` boxes
    are kept (later ones would be cut by ``max_det`` anyway).
    """
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    thr = np.float64(iou_threshold)  # torchvision compares float IoU with a double threshold
    while order.size and len(keep) < limit:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        if not rest.size:
            break
        w = np.maximum(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), np.float32(0))
        h = np.maximum(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), np.float32(0))
        inter = w * h
        iou = inter / ((areas[i] + areas[rest]) - inter)
        order = rest[~(iou > thr)]  # NaN (zero-area pairs) never suppresses, as in torchvision
    return np.asarray(keep, dtype=np.int64)


def decode_yolo(
    pred: np.ndarray,
    num_classes: int,
    conf_threshold: float,
    iou_threshold: float,
    max_det: int = MAX_DET,
    max_nms: int = MAX_NMS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's raw head output (4 + nc [+ extra]) x anchors to (boxes xyxy, scores, classes).

    ultralytics ``non_max_suppression`` defaults: candidates by max class score > conf, the
    best class only, top ``max_nms`` by score, class-aware NMS, at most ``max_det``.
    Boxes stay in network-input pixels.
    """
    cls_scores = pred[4 : 4 + num_classes]
    best = cls_scores.max(axis=0)
    cand = np.flatnonzero(best > conf_threshold)
    if not cand.size:
        empty = np.zeros((0,), dtype=np.float32)
        return np.zeros((0, 4), dtype=np.float32), empty, np.zeros((0,), dtype=np.int64)
    scores = best[cand]
    classes = cls_scores[:, cand].argmax(axis=0)  # first maximum on ties, like torch.max
    if cand.size > max_nms:
        top = np.argsort(-scores, kind="stable")[:max_nms]
        cand, scores, classes = cand[top], scores[top], classes[top]
    xy = pred[0:2, cand].T
    half_wh = pred[2:4, cand].T / np.float32(2)
    boxes = np.empty((cand.size, 4), dtype=np.float32)
    boxes[:, :2] = xy - half_wh
    boxes[:, 2:] = xy + half_wh
    # float32 offset exactly as ultralytics (cls * max_wh added to float32 boxes).
    offset = (classes.astype(np.float32) * np.float32(MAX_WH))[:, None]
    keep = nms_f32(boxes + offset, scores, iou_threshold, max_det)
    return boxes[keep], scores[keep], classes[keep]


class _Buffers(threading.local):
    """Per-thread input buffers, grown on demand: no allocation per request after warm-up."""

    def __init__(self) -> None:
        self.blob = np.empty(0, dtype=np.float32)
        self.canvas = np.empty(0, dtype=np.uint8)

    def get(self, n: int, h: int, w: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        if self.blob.size < n * 3 * h * w or self.blob.dtype != dtype:
            self.blob = np.empty(n * 3 * h * w, dtype=dtype)
        if self.canvas.size < h * w * 3:
            self.canvas = np.empty(h * w * 3, dtype=np.uint8)
        blob = self.blob[: n * 3 * h * w].reshape(n, 3, h, w)
        return blob, self.canvas[: h * w * 3].reshape(h, w, 3)


class YoloOnnxDetector(Detector):
    """Ultralytics YOLO (v8/11 detect) ONNX export on ONNX Runtime.

    ``rect=True`` pads a chunk of same-shaped images only to a multiple of the stride (as
    ultralytics' predict does by default for dynamic exports): faster on non-square photos,
    and it needs an export with dynamic height and width. The default (square letterbox to the
    export size) gives the same input for every photo, as a static export must.
    """

    def __init__(
        self,
        spec: ModelSpec,
        onnx_path: Path | str,
        providers: Sequence[str] | None = None,
        *,
        num_threads: int | None = None,
        batch_size: int = DEFAULT_BATCH,
        max_det: int = MAX_DET,
        rect: bool = False,
    ) -> None:
        self.spec = spec
        self.onnx_path = Path(onnx_path)
        self.max_det = max_det
        self._session = onnx_session(self.onnx_path, providers, num_threads)
        sess = self._session
        meta = dict(sess.get_modelmeta().custom_metadata_map)  # type: ignore[attr-defined]
        if meta.get("task", "detect") != "detect":
            raise ValueError(f"{self.onnx_path.name}: task {meta['task']!r}, expected 'detect'")
        if meta.get("end2end", "False") == "True":
            raise ValueError(
                f"{self.onnx_path.name}: end-to-end (NMS-free) exports are not supported; "
                "export a YOLOv8/YOLO11 model, or this one with nms=False"
            )
        inp = sess.get_inputs()[0]  # type: ignore[attr-defined]
        out = sess.get_outputs()[0]  # type: ignore[attr-defined]
        self._input_name, self._output_name = inp.name, out.name
        self._dtype = np.dtype(np.float16 if "float16" in inp.type else np.float32)
        batch, _, h, w = inp.shape
        self._fixed_batch = batch if isinstance(batch, int) else None
        self._dynamic_hw = not (isinstance(h, int) and isinstance(w, int))
        if self._dynamic_hw:
            imgsz = ast.literal_eval(meta["imgsz"]) if "imgsz" in meta else None
            h, w = imgsz if imgsz else (spec.input.height, spec.input.width)
        self.input_hw = (int(h), int(w))
        self.stride = int(meta.get("stride", 32))
        self.rect = rect and self._dynamic_hw
        self._chunk = self._fixed_batch or max(1, batch_size)

        names = parse_names(meta)
        if names is None:
            names = dict(enumerate(spec.labels))
        # A detect head outputs 4 box rows then one row per class: the graph, not the labels,
        # says how many classes there are (a short label list must not hide class rows).
        nc = out.shape[1] - 4 if isinstance(out.shape[1], int) else len(names)
        if nc <= 0 or len(names) != nc:
            log.warning("%s: %d class rows but %d names", self.onnx_path.name, nc, len(names))
        if nc <= 0:
            raise ValueError(f"{self.onnx_path.name}: output {out.shape} has no class rows")
        self.num_classes = nc
        self.raw_labels = [names.get(i, str(i)) for i in range(self.num_classes)]
        self.labels = [canonical_label(r) for r in self.raw_labels]
        self._buffers = _Buffers()

    def detect_batch(
        self,
        images: Sequence[np.ndarray],
        *,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    ) -> list[list[Detection]]:
        results: list[list[Detection]] = []
        for start in range(0, len(images), self._chunk):
            chunk = images[start : start + self._chunk]
            results.extend(self._detect_chunk(chunk, score_threshold, iou_threshold))
        return results

    def raw_outputs(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, list[LetterboxParams]]:
        """Letterbox one chunk and run the session: the head output and each image's params."""
        if not len(images):
            raise ValueError("no images")
        for im in images:
            if im.ndim != 3 or im.shape[2] != 3 or im.dtype != np.uint8:
                raise ValueError(f"expected HxWx3 uint8 RGB images, got {im.shape} {im.dtype}")
        auto = self.rect and len({im.shape[:2] for im in images}) == 1
        params = [
            letterbox_params(im.shape[:2], self.input_hw, auto=auto, stride=self.stride)
            for im in images
        ]
        h, w = params[0].out_h, params[0].out_w
        n = self._fixed_batch or len(images)
        blob, canvas = self._buffers.get(n, h, w, self._dtype)
        scale = self._dtype.type(255)
        for i, (im, p) in enumerate(zip(images, params, strict=True)):
            letterbox_into(im, canvas, p)
            # HWC uint8 -> CHW float in one pass; division (not a reciprocal multiply) as torch.
            np.divide(canvas.transpose(2, 0, 1), scale, out=blob[i])
        if n > len(images):  # a static batch larger than this chunk: zero the unused slots
            blob[len(images) :] = 0
        out = self._session.run([self._output_name], {self._input_name: blob})[0]  # type: ignore[attr-defined]
        return out, params

    def _detect_chunk(
        self, images: Sequence[np.ndarray], conf: float, iou: float
    ) -> list[list[Detection]]:
        out, params = self.raw_outputs(images)
        results = []
        for pred, p in zip(out, params, strict=False):  # zip stops at the real images
            boxes, scores, classes = decode_yolo(
                pred.astype(np.float32, copy=False), self.num_classes, conf, iou, self.max_det
            )
            scale_boxes_back(boxes, p)
            results.append(self._to_detections(boxes, scores, classes))
        return results

    def _to_detections(
        self, boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray
    ) -> list[Detection]:
        dets = []
        for box, score, c in zip(boxes.tolist(), scores.tolist(), classes.tolist(), strict=True):
            dets.append(
                Detection(
                    label=self.labels[c],
                    raw_label=self.raw_labels[c],
                    score=min(max(score, 0.0), 1.0),
                    box=Box.from_xyxy(box),
                    model_id=self.spec.id,
                )
            )
        return dets
