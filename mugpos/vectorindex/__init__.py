"""Vector index: one interface, an embedded local index (default) and MongoDB Atlas.

``open_vector_index(uri)`` picks the backend from the URI so resources and the API choose by
configuration only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mugpos.vectorindex.base import (
    Hit,
    InvalidVectorError,
    SearchFilter,
    VectorIndex,
    VectorIndexError,
    VectorKey,
    VectorRecord,
)

__all__ = [
    "Hit",
    "InvalidVectorError",
    "SearchFilter",
    "VectorIndex",
    "VectorIndexError",
    "VectorKey",
    "VectorRecord",
    "open_vector_index",
]

_MONGO_SCHEMES = ("mongodb://", "mongodb+srv://")


def open_vector_index(
    uri: str | Path,
    *,
    database: str = "mugpos",
    collection: str = "image_vectors",
    index_name: str | None = None,
    num_dimensions: int | None = None,
    **options: Any,
) -> VectorIndex:
    """``mongodb://`` / ``mongodb+srv://`` → Atlas (``database``/``collection``/``index_name``,
    ``num_dimensions``, plus AtlasVectorIndex options); ``local://path`` or a plain directory
    path → the embedded index (``options`` go to LocalVectorIndex: ``exact_below``, ...)."""
    text = str(uri)
    if text.startswith(_MONGO_SCHEMES):
        from mugpos.vectorindex.atlas import DEFAULT_INDEX_NAME, AtlasVectorIndex

        return AtlasVectorIndex.connect(
            text,
            database=database,
            collection=collection,
            index_name=index_name or DEFAULT_INDEX_NAME,
            num_dimensions=num_dimensions,
            **options,
        )
    if "://" in text and not text.startswith("local://"):
        scheme = text.split("://", 1)[0]
        raise VectorIndexError(
            f"unsupported vector index URI scheme {scheme!r}: use a directory, local://path, "
            "mongodb:// or mongodb+srv://"
        )
    from mugpos.vectorindex.local import LocalVectorIndex

    return LocalVectorIndex(Path(text.removeprefix("local://")), **options)
