"""Corpus ingest when a source read fails: a failure that does not say the image is gone keeps
its previous entry (no removal downstream); an object that is really gone is dropped."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from mugpos.corpus import CorpusLayout, ingest_shard, shard_of
from mugpos.images import encode_jpeg, sha256_bytes
from mugpos.objectstore import LocalObjectStore
from mugpos.samples import sample_photo


def _ingest(source: LocalObjectStore, shard: str, layout: CorpusLayout):  # type: ignore[no-untyped-def]
    return ingest_shard(source, shard, layout, max_bytes=10_000_000, max_pixels=10_000_000)


def test_a_failed_read_keeps_the_entry_and_a_gone_object_is_dropped(tmp_path: Path) -> None:
    source = LocalObjectStore(tmp_path / "inbox")
    data = encode_jpeg(sample_photo("coffee"), quality=90)
    sha = sha256_bytes(data)
    shard = shard_of(sha)
    source.put_bytes("desk/coffee.jpg", data)  # records its sha256 beside it
    source.put_bytes("desk/coffee-copy.jpg", data)
    layout = CorpusLayout(tmp_path / "corpus")
    first = _ingest(source, shard, layout)
    assert first.images.column("sha256").to_pylist() == [sha]

    # The file is being rewritten by a sync tool: its bytes no longer match the recorded
    # sha256, so the read fails (an integrity error, not "not found").
    (tmp_path / "inbox" / "desk" / "coffee.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "inbox" / "desk" / "coffee-copy.jpg").write_bytes(b"partial")
    second = _ingest(source, shard, layout)
    rows = pq.read_table(layout.shard_table(shard)).to_pylist()
    assert [r["sha256"] for r in rows] == [sha]  # still there: nothing for the index to delete
    assert sorted([rows[0]["source_key"], *rows[0]["duplicate_keys"]]) == [
        "desk/coffee-copy.jpg",
        "desk/coffee.jpg",
    ]
    reasons = second.rejects.column("reason").to_pylist()
    assert len(reasons) == 2 and all("previous entry kept" in r for r in reasons)

    # Really gone from the source: the entry goes.
    source.delete("desk/coffee.jpg")
    source.delete("desk/coffee-copy.jpg")
    third = _ingest(source, shard, layout)
    assert third.images.num_rows == 0
    assert pq.read_table(layout.shard_table(shard)).num_rows == 0
