"""Image embeddings per corpus shard, computed in batches and reused when nothing changed.

A vector is reused only when the image (sha256), the embedder id and its version all match the
previous table, so re-running a shard costs nothing, and a model version change re-embeds all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mugpos.images import decode_image
from mugpos.models.base import Embedder

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, float], None]  # done, total, images per second


def embeddings_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            ("sha256", pa.string()),
            ("shard", pa.string()),
            ("model_id", pa.string()),
            ("model_version", pa.string()),
            ("vector", pa.list_(pa.float32(), dim)),
        ]
    )


def vectors_of(table: pa.Table) -> np.ndarray:
    """The ``vector`` column as an ``N x dim`` float32 array without a Python loop."""
    if table.num_rows == 0:
        dim = table.schema.field("vector").type.list_size
        return np.zeros((0, max(dim, 0)), np.float32)
    col = table.column("vector").combine_chunks()
    dim = col.type.list_size
    return col.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim).astype(np.float32)


def embed_shard(
    embedder: Embedder,
    corpus: pa.Table,
    previous: pa.Table | None,
    *,
    batch_size: int,
    progress: ProgressFn | None = None,
) -> tuple[pa.Table, int]:
    """Embed the shard's images; returns the table (sorted by sha256) and how many were computed."""
    schema = embeddings_schema(embedder.dim)
    reuse: dict[str, np.ndarray] = {}
    if previous is not None and previous.num_rows and previous.schema.equals(schema):
        prev = previous.filter(
            pc.and_(
                pc.equal(previous.column("model_id"), embedder.id),
                pc.equal(previous.column("model_version"), embedder.version),
            )
        )
        reuse = dict(zip(prev.column("sha256").to_pylist(), vectors_of(prev), strict=True))

    rows = corpus.select(["sha256", "shard", "path"]).to_pylist()
    todo = [r for r in rows if r["sha256"] not in reuse]
    computed: dict[str, np.ndarray] = {}
    started = time.perf_counter()
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        pixels = [decode_image(Path(r["path"])).pixels for r in batch]
        vectors = embedder.embed_images(pixels)
        computed.update(zip((r["sha256"] for r in batch), vectors, strict=True))
        if progress is not None:
            done = start + len(batch)
            progress(done, len(todo), done / max(time.perf_counter() - started, 1e-9))

    rows.sort(key=lambda r: r["sha256"])
    vectors = [computed.get(r["sha256"], reuse.get(r["sha256"])) for r in rows]
    matrix = (
        np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, embedder.dim), np.float32)
    )
    table = pa.Table.from_arrays(
        [
            pa.array([r["sha256"] for r in rows], pa.string()),
            pa.array([r["shard"] for r in rows], pa.string()),
            pa.array([embedder.id] * len(rows), pa.string()),
            pa.array([embedder.version] * len(rows), pa.string()),
            pa.FixedSizeListArray.from_arrays(
                pa.array(matrix.reshape(-1), pa.float32()), embedder.dim
            ),
        ],
        schema=schema,
    )
    return table, len(todo)
