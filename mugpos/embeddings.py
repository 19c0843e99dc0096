"""Image embeddings per corpus shard, computed in batches and reused when nothing changed.

A vector is reused only when the image (sha256), the embedder id and its version all match the
previous table, so re-running a shard costs nothing, and a model version change re-embeds all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mugpos.batching import (
    BatchRunner,
    ImageRow,
    ModelRef,
    ProgressFn,
    decode_row,
    in_process,
    run_batches,
)
from mugpos.models.base import Embedder

log = logging.getLogger(__name__)


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


class EmbedderRef(ModelRef, Protocol):
    @property
    def dim(self) -> int: ...


def embed_batch(embedder: Embedder, rows: Sequence[ImageRow]) -> np.ndarray:
    """One batch of images, embedded: the work a model-holding worker runs (here or on Ray)."""
    return embedder.embed_images([decode_row(r).pixels for r in rows])


def embed_shard(
    embedder: Embedder | EmbedderRef,
    corpus: pa.Table,
    previous: pa.Table | None,
    *,
    batch_size: int,
    progress: ProgressFn | None = None,
    runner: BatchRunner | None = None,
) -> tuple[pa.Table, int]:
    """Embed the shard's images; returns the table (sorted by sha256) and how many were computed.

    Without a ``runner`` the batches run here and ``embedder`` must be the embedder itself; with
    one (the Ray executor) the model lives in the runner's workers and ``embedder`` only names
    it (id, version, dim)."""
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
    if runner is None:
        if not isinstance(embedder, Embedder):
            raise TypeError("embed_shard needs the embedder itself when no runner is given")
        model = embedder
        runner = in_process(lambda batch: embed_batch(model, batch))
    vectors_out = run_batches(todo, batch_size, runner, progress)
    computed = dict(zip((r["sha256"] for r in todo), vectors_out, strict=True))

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
