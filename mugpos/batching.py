"""A shard's images in batches, run by whoever holds the model: this process or a runner.

The shard functions (``analyse_shard``, ``embed_shard``) decide what to compute and assemble
the table; the per-batch work in between is a pure function of the batch. By default it runs
here, one batch after the other; an outside runner (the platform's Ray executor) may instead
send the batches to model-holding workers elsewhere and hand the results back in order, so
both paths produce the same rows from the same engine code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mugpos.images import DecodedImage, decode_image

# One image of a shard: ``sha256``, ``shard`` and ``path``; a runner that ships images to
# workers without the corpus's filesystem adds their bytes as ``data``.
ImageRow = dict[str, object]
ProgressFn = Callable[[int, int, float], None]  # done, total, images per second
# Maps batches to their results, in the order the batches came.
BatchRunner = Callable[[Iterable[list[ImageRow]]], Iterator[Any]]


class ModelRef(Protocol):
    """What a shard's table records about the model: enough to decide what to reuse."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> str: ...


@dataclass(frozen=True)
class NamedModel:
    """A model by name only, for a shard whose model lives in a runner's workers."""

    id: str
    version: str
    dim: int = 0


def decode_row(row: ImageRow) -> DecodedImage:
    """The row's image: from its shipped bytes when present, else from its stored file."""
    data = row.get("data")
    if isinstance(data, bytes):
        return decode_image(data)
    return decode_image(Path(str(row["path"])))


def batches_of(rows: Sequence[ImageRow], size: int) -> Iterator[list[ImageRow]]:
    if size < 1:
        raise ValueError(f"batch size must be at least 1, not {size}")
    for start in range(0, len(rows), size):
        yield list(rows[start : start + size])


def in_process(work: Callable[[list[ImageRow]], Any]) -> BatchRunner:
    """The default runner: every batch here, one after the other."""
    return lambda batches: map(work, batches)


def run_batches(
    todo: Sequence[ImageRow],
    batch_size: int,
    runner: BatchRunner,
    progress: ProgressFn | None = None,
) -> list[Any]:
    """Each batch's results (a sequence per batch), flattened in the order of ``todo``.

    A runner must answer every batch with one result per image; anything else is a bug that
    would misalign rows and images, so it fails the shard instead.
    """
    out: list[Any] = []
    started = time.perf_counter()
    sizes = [len(b) for b in batches_of(todo, batch_size)]
    for i, result in enumerate(runner(batches_of(todo, batch_size))):
        if i >= len(sizes) or len(result) != sizes[i]:
            raise RuntimeError(f"batch {i} of {len(sizes)} came back with {len(result)} results")
        out.extend(result)
        if progress is not None:
            progress(len(out), len(todo), len(out) / max(time.perf_counter() - started, 1e-9))
    if len(out) != len(todo):
        raise RuntimeError(f"{len(todo)} images sent, {len(out)} results came back")
    return out
