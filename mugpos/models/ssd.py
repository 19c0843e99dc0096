"""The offline default: SSD MobileNetV2 (Open Images v4) on LiteRT, detector and embedder at once.

The shipped ``.tflite`` outputs only raw box encodings and class logits. We rewrite its output
list so the last backbone feature map (``FeatureExtractor/MobilenetV2/Conv_1``, 10x10x1280) is a
real output too: one pass then gives detections and a scene embedding without LiteRT's
keep-every-tensor debug mode, which cost about 25% more time per image here (see
docs/benchmarks.md).

What runs is verified: the shipped file's bytes are read once and checked against their pinned
sha256, and the rewrite is made in memory from those very bytes (about 80 ms, deterministic)
and handed to LiteRT as content. No derived file is read from disk, so none can be stale,
swapped or corrupted under us.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from mugpos.detections import Box, Detection
from mugpos.errors import ChecksumError
from mugpos.labels import canonical_label
from mugpos.models.base import (
    DEFAULT_IOU_THRESHOLD,
    DEFAULT_SCORE_THRESHOLD,
    Detector,
    Embedder,
    SceneOutput,
    l2_normalize,
)
from mugpos.models.catalog import ModelSpec
from mugpos.models.nms import batched_nms
from mugpos.models.ssd_decode import decode_boxes, sigmoid, ssd_anchors

log = logging.getLogger(__name__)

FEATURE_TENSOR_PREFIX = b"FeatureExtractor/MobilenetV2/Conv_1/Relu6"
BOX_OUTPUT = "raw_outputs/box_encodings"
CLASS_OUTPUT = "raw_outputs/class_predictions"
MAX_DETECTIONS = 100


def with_feature_output(model: bytes) -> bytes:
    """The model with the backbone feature map added to its outputs (same bytes every time)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    tree = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    graph = tree.subgraphs[0]
    feature = [i for i, t in enumerate(graph.tensors) if t.name.startswith(FEATURE_TENSOR_PREFIX)]
    if len(feature) != 1:
        raise ValueError(f"expected one feature tensor, found {len(feature)}")
    graph.outputs = np.asarray([*list(graph.outputs), feature[0]], dtype=np.int32)
    builder = flatbuffers.Builder(len(model) + 4096)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def read_verified(path: Path, sha256: str) -> bytes:
    """The file's bytes, read once, or ChecksumError when they are not the pinned ones."""
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ChecksumError(
            f"{path} has sha256 {actual}, expected {sha256}: refusing to load it",
            details={"file": path.name, "expected": sha256, "actual": actual},
        )
    return data


class SsdMobileNetV2(Detector, Embedder):
    """One LiteRT interpreter per thread (interpreters are not thread-safe)."""

    def __init__(self, spec: ModelSpec, model_path: Path, labels_path: Path, num_threads: int = 2):
        self.spec = spec
        self.model_path = model_path  # the shipped file (verified; never run as is)
        shipped = read_verified(model_path, spec.primary.sha256)
        self.model_content = with_feature_output(shipped)
        labels = read_verified(labels_path, spec.file(labels_path.name).sha256)
        self.labels = tuple(labels.decode().splitlines())
        self.canonical = tuple(canonical_label(name) for name in self.labels)
        self.num_threads = num_threads
        self.anchors = ssd_anchors()
        self._local = threading.local()
        self._canonical_ids = np.asarray(
            [sorted(set(self.canonical)).index(c) for c in self.canonical], dtype=np.int64
        )

    def _interpreter(self) -> tuple[object, int, int, int, int]:
        cached = getattr(self._local, "interp", None)
        if cached is not None:
            return cached
        from ai_edge_litert.interpreter import Interpreter

        interp = Interpreter(model_content=self.model_content, num_threads=self.num_threads)
        interp.allocate_tensors()
        outputs = {d["name"]: d["index"] for d in interp.get_output_details()}
        feature = next(
            i for n, i in outputs.items() if n.encode().startswith(FEATURE_TENSOR_PREFIX)
        )
        cached = (
            interp,
            interp.get_input_details()[0]["index"],
            outputs[BOX_OUTPUT],
            outputs[CLASS_OUTPUT],
            feature,
        )
        self._local.interp = cached
        return cached

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        w, h = self.spec.input.width, self.spec.input.height
        resized = Image.fromarray(image).resize((w, h), Image.Resampling.BILINEAR)
        arr = np.asarray(resized, dtype=np.float32)
        return (arr * (2.0 / 255.0) - 1.0)[None]

    def run(
        self,
        image: np.ndarray,
        *,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        iou_threshold: float = DEFAULT_IOU_THRESHOLD,
        detect: bool = True,
    ) -> SceneOutput:
        """One pass: detections in the image's pixels and the scene embedding (1280-d, L2)."""
        interp, inp, box_idx, cls_idx, feat_idx = self._interpreter()
        interp.set_tensor(inp, self.preprocess(image))  # type: ignore[attr-defined]
        interp.invoke()  # type: ignore[attr-defined]
        raw_boxes = interp.get_tensor(box_idx)[0]  # type: ignore[attr-defined]
        logits = interp.get_tensor(cls_idx)[0]  # type: ignore[attr-defined]
        feature = interp.get_tensor(feat_idx)[0]  # type: ignore[attr-defined]
        embedding = l2_normalize(feature.reshape(-1, feature.shape[-1]).mean(axis=0))
        h, w = image.shape[:2]
        dets = (
            self._decode(raw_boxes, logits, w, h, score_threshold, iou_threshold) if detect else []
        )
        return SceneOutput(detections=dets, embedding=embedding)

    def _decode(
        self,
        raw_boxes: np.ndarray,
        logits: np.ndarray,
        width: int,
        height: int,
        score_threshold: float,
        iou_threshold: float,
    ) -> list[Detection]:
        scores = sigmoid(logits[:, 1:])  # class 0 is the background "???"
        anchor_ids, class_ids = np.nonzero(scores >= score_threshold)
        if anchor_ids.size == 0:
            return []
        class_ids = class_ids + 1
        cand_scores = scores[anchor_ids, class_ids - 1]
        boxes = decode_boxes(raw_boxes[anchor_ids], self.anchors[anchor_ids])
        boxes = np.clip(boxes, 0.0, 1.0) * np.asarray([width, height, width, height], np.float32)
        # NMS per canonical label: "Mug" and "Coffee cup" on one object collapse to one mug.
        keep = batched_nms(boxes, cand_scores, self._canonical_ids[class_ids], iou_threshold)
        keep = keep[:MAX_DETECTIONS]
        return [
            Detection(
                label=self.canonical[class_ids[k]],
                raw_label=self.labels[class_ids[k]],
                score=float(cand_scores[k]),
                box=Box.from_xyxy(boxes[k].tolist()),
                model_id=self.id,
            )
            for k in keep
            if boxes[k][2] > boxes[k][0] and boxes[k][3] > boxes[k][1]
        ]

    def detect_scene(
        self,
        image: np.ndarray,
        *,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    ) -> SceneOutput:
        return self.run(image, score_threshold=score_threshold, iou_threshold=iou_threshold)

    def detect_batch(
        self,
        images: Sequence[np.ndarray],
        *,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    ) -> list[list[Detection]]:
        # The graph has a fixed batch of 1 (XNNPACK refuses to reshape it), so batches loop.
        return [
            self.run(im, score_threshold=score_threshold, iou_threshold=iou_threshold).detections
            for im in images
        ]

    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.run(im, detect=False).embedding for im in images])
