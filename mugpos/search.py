"""Search the corpus index by image (nearest scenes) or by text (CLIP only)."""

from __future__ import annotations

import numpy as np

from mugpos.images import DecodedImage
from mugpos.models.base import Embedder
from mugpos.vectorindex.base import Hit, SearchFilter, VectorIndex


def search_by_image(
    image: DecodedImage,
    embedder: Embedder,
    index: VectorIndex,
    *,
    k: int = 10,
    labels_all: tuple[str, ...] = (),
    has_mug: bool | None = None,
) -> list[Hit]:
    vector = embedder.embed_images([image.pixels])[0]
    return _search(vector, embedder, index, k, labels_all, has_mug)


def search_by_text(
    text: str,
    embedder: Embedder,
    index: VectorIndex,
    *,
    k: int = 10,
    labels_all: tuple[str, ...] = (),
    has_mug: bool | None = None,
) -> list[Hit]:
    """Raises ``UnsupportedOperationError`` (text search needs CLIP) for image-only embedders."""
    vector = embedder.embed_texts([text])[0]
    return _search(vector, embedder, index, k, labels_all, has_mug)


def _search(
    vector: np.ndarray,
    embedder: Embedder,
    index: VectorIndex,
    k: int,
    labels_all: tuple[str, ...],
    has_mug: bool | None,
) -> list[Hit]:
    # Only vectors of the same embedder are comparable.
    flt = SearchFilter(model_id=embedder.id, labels_all=labels_all, has_mug=has_mug)
    return index.search(vector, k, flt)
