"""The two model interfaces every backend implements: detectors and embedders.

Images are upright H x W x 3 uint8 RGB arrays (as :func:`mugpos.images.decode_image` returns);
boxes come back in those images' pixels.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mugpos.detections import Detection
from mugpos.errors import UnsupportedOperationError
from mugpos.models.catalog import ModelSpec

DEFAULT_SCORE_THRESHOLD = 0.3
DEFAULT_IOU_THRESHOLD = 0.45


@dataclass(frozen=True)
class SceneOutput:
    """One image's detections and, from detectors that are embedders too (the SSD), the scene
    embedding of the same forward pass (``None`` otherwise)."""

    detections: list[Detection]
    embedding: np.ndarray | None = None


class Model(abc.ABC):
    spec: ModelSpec

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def version(self) -> str:
        return self.spec.version


class Detector(Model):
    @abc.abstractmethod
    def detect_batch(
        self,
        images: Sequence[np.ndarray],
        *,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    ) -> list[list[Detection]]:
        """Detections per image, best score first, boxes in each image's own pixels."""

    def detect(
        self,
        image: np.ndarray,
        *,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    ) -> list[Detection]:
        return self.detect_batch(
            [image], score_threshold=score_threshold, iou_threshold=iou_threshold
        )[0]

    def detect_scene(
        self,
        image: np.ndarray,
        *,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    ) -> SceneOutput:
        """Detections plus whatever else the same pass yields (an embedding): what an analysis
        asks of a detector, so one call serves tiled and plain detectors alike."""
        return SceneOutput(
            self.detect(image, score_threshold=score_threshold, iou_threshold=iou_threshold)
        )


class Embedder(Model):
    @property
    def dim(self) -> int:
        assert self.spec.embedding_dim is not None
        return self.spec.embedding_dim

    @property
    def has_text(self) -> bool:
        return "embed_text" in self.spec.tasks

    @abc.abstractmethod
    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """``N x dim`` float32, each row L2-normalised (cosine = dot product)."""

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        raise UnsupportedOperationError(
            f"{self.id} has no text tower: text search needs a CLIP embedder "
            f"(e.g. clip-vit-b32-laion2b); set MUGPOS_EMBEDDER to one",
            details={"embedder": self.id},
        )


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)
