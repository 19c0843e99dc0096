"""The shard batching both executors share: order kept, and a runner that loses or adds
results fails the shard instead of misaligning rows and images."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest

from mugpos.batching import ImageRow, batches_of, in_process, run_batches

ROWS: list[ImageRow] = [{"sha256": f"{i:02x}", "shard": "0", "path": f"{i}.jpg"} for i in range(7)]


def test_batches_keep_order_and_report_progress() -> None:
    assert [len(b) for b in batches_of(ROWS, 3)] == [3, 3, 1]
    seen: list[tuple[int, int]] = []
    out = run_batches(
        ROWS,
        3,
        in_process(lambda batch: [r["sha256"] for r in batch]),
        lambda done, total, _rate: seen.append((done, total)),
    )
    assert out == [r["sha256"] for r in ROWS]
    assert seen == [(3, 7), (6, 7), (7, 7)]
    assert run_batches([], 3, in_process(lambda batch: batch)) == []
    with pytest.raises(ValueError):
        list(batches_of(ROWS, 0))


def test_a_runner_that_drops_or_adds_results_fails() -> None:
    def short(batches: Iterable[list[ImageRow]]) -> Iterator[list[object]]:
        for batch in batches:
            yield batch[:-1]

    def missing_batch(batches: Iterable[list[ImageRow]]) -> Iterator[list[ImageRow]]:
        yield from list(batches)[:-1]

    def extra_batch(batches: Iterable[list[ImageRow]]) -> Iterator[list[ImageRow]]:
        yield from batches
        yield [ROWS[0]]

    for runner in (short, missing_batch, extra_batch):
        with pytest.raises(RuntimeError):
            run_batches(ROWS, 3, runner)
