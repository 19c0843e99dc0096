"""Behaviour specific to the embedded index: ANN routing, compaction, files on disk, URIs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from vindex_helpers import make_record, sha, unit_vectors

from mugpos.vectorindex import (
    InvalidVectorError,
    SearchFilter,
    VectorIndexError,
    VectorKey,
    _persist,
    open_vector_index,
)
from mugpos.vectorindex.local import LocalVectorIndex

LABELS = ("mug", "laptop", "keyboard", "book")


def labelled(model: str, n: int, dim: int = 24, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed + 1)
    vecs = unit_vectors(n, dim=dim, seed=seed)
    return [
        make_record(
            i,
            model,
            vecs[i],
            shard=f"{i % 8:02x}",
            labels=tuple(label for label in LABELS if rng.random() < 0.3),
        )
        for i in range(n)
    ]


def hits_of(idx: LocalVectorIndex, q: np.ndarray, k: int, flt: SearchFilter):  # type: ignore[no-untyped-def]
    return [(h.sha256, round(h.score, 5)) for h in idx.search(q, k, flt)]


@pytest.mark.parametrize("exact_filtered_below", [1, 2_000])
def test_ann_results_equal_exact_on_small_cases(tmp_path: Path, exact_filtered_below: int) -> None:
    """Graph search (bitmap-filtered, tombstones present) returns exactly the exact results."""
    records = labelled("m", 400)
    ann = LocalVectorIndex(
        tmp_path / "ann", exact_below=50, exact_filtered_below=exact_filtered_below, autosave=False
    )
    exact = LocalVectorIndex(tmp_path / "exact", exact_below=10**9, autosave=False)
    for idx in (ann, exact):
        idx.upsert(records)
        idx.delete([VectorKey(sha(i), "m") for i in range(0, 400, 13)])  # tombstones, no compaction
    assert ann.describe()["models"]["m"]["search"] == "hnsw"
    assert exact.describe()["models"]["m"]["search"] == "exact"
    filters = [
        SearchFilter("m"),
        SearchFilter("m", has_mug=True),
        SearchFilter("m", shards=("01", "02")),
        SearchFilter("m", labels_all=("mug", "laptop")),
        SearchFilter("m", labels_any=("book",), has_mug=False),
        SearchFilter("m", shards="03", labels_all=("keyboard",)),  # a handful of rows
    ]
    for q in unit_vectors(5, dim=24, seed=3):
        for flt in filters:
            assert hits_of(ann, q, 10, flt) == hits_of(exact, q, 10, flt), flt


def test_graph_lifecycle_build_extend_compact_drop(tmp_path: Path) -> None:
    idx = LocalVectorIndex(tmp_path, exact_below=40, compact_ratio=0.25)
    records = labelled("m", 100)
    idx.upsert(records[:30])
    assert idx.describe()["models"]["m"]["search"] == "exact"
    idx.upsert(records[30:60])  # crosses exact_below: graph built
    assert idx.describe()["models"]["m"]["hnsw"]["ntotal"] == 60
    idx.upsert(records[60:])  # extended, not rebuilt
    assert idx.describe()["models"]["m"]["hnsw"]["ntotal"] == 100
    idx.delete([VectorKey(sha(i), "m") for i in range(10)])  # 10% dead: tombstones only
    assert idx.describe()["models"]["m"]["rows"] == 100
    idx.delete([VectorKey(sha(i), "m") for i in range(10, 30)])  # 30% dead: compacted, rebuilt
    model = idx.describe()["models"]["m"]
    assert model["rows"] == model["count"] == 70 and model["hnsw"]["ntotal"] == 70
    q = records[50].vector
    assert idx.search(q, 1, SearchFilter("m"))[0].sha256 == sha(50)
    idx.delete([VectorKey(sha(i), "m") for i in range(30, 85)])  # 15 left < 40 // 2: no graph
    assert idx.describe()["models"]["m"]["search"] == "exact"
    assert len(idx.search(q, 100, SearchFilter("m"))) == 15


def test_models_may_have_different_dimensions(tmp_path: Path) -> None:
    idx = LocalVectorIndex(tmp_path)
    idx.upsert([make_record(1, "clip", unit_vectors(1, dim=512)[0])])
    idx.upsert([make_record(1, "ssd", unit_vectors(1, dim=1280)[0])])
    assert idx.describe()["models"]["clip"]["dim"] == 512
    assert idx.describe()["models"]["ssd"]["dim"] == 1280
    with pytest.raises(InvalidVectorError, match="expected 512"):
        idx.search(unit_vectors(1, dim=1280)[0], 3, SearchFilter("clip"))


def test_saves_are_versioned_and_unchanged_models_hard_linked(tmp_path: Path) -> None:
    idx = LocalVectorIndex(tmp_path)
    idx.upsert(labelled("a", 10))
    idx.upsert(labelled("b", 10))
    v2 = idx.version
    idx.upsert(labelled("b", 12))  # only b changes
    v3 = idx.version
    versions = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("v"))
    assert versions == [v2, v3]  # the one before the previous is gone
    assert (tmp_path / "CURRENT").read_text() == v3
    a_file = _persist.model_slug("a") + ".vectors.npy"
    assert (tmp_path / v3 / a_file).stat().st_ino == (tmp_path / v2 / a_file).stat().st_ino
    b_file = _persist.model_slug("b") + ".vectors.npy"
    assert (tmp_path / v3 / b_file).stat().st_ino != (tmp_path / v2 / b_file).stat().st_ino


def test_failure_while_writing_files_leaves_no_partial_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    idx = LocalVectorIndex(tmp_path)
    idx.upsert(labelled("m", 10))

    def broken_write(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(_persist, "_write_model", broken_write)
    with pytest.raises(OSError, match="disk full"):
        idx.upsert(labelled("m", 20))
    monkeypatch.undo()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    assert LocalVectorIndex(tmp_path).count() == 10
    idx.save()  # the failed changes are still pending in memory and can be saved later
    assert LocalVectorIndex(tmp_path).count() == 20


def test_autosave_off_until_save_or_close_and_refresh(tmp_path: Path) -> None:
    writer = LocalVectorIndex(tmp_path, autosave=False)
    reader = LocalVectorIndex(tmp_path)
    writer.upsert(labelled("m", 5))
    assert LocalVectorIndex(tmp_path).count() == 0
    assert writer.describe()["unsaved_models"] == ["m"]
    writer.close()
    assert reader.count() == 0 and reader.refresh() is True and reader.count() == 5
    assert reader.refresh() is False


def test_unreadable_pointer_is_a_clear_error(tmp_path: Path) -> None:
    LocalVectorIndex(tmp_path).upsert(labelled("m", 3))
    (tmp_path / "CURRENT").write_text("../../etc")
    with pytest.raises(VectorIndexError, match="does not name a version"):
        LocalVectorIndex(tmp_path)
    (tmp_path / "CURRENT").write_text("v00000099")
    with pytest.raises(VectorIndexError, match="cannot read vector index version"):
        LocalVectorIndex(tmp_path)


def test_open_vector_index_routes_by_uri(tmp_path: Path) -> None:
    plain = open_vector_index(tmp_path / "a", exact_below=7)
    assert isinstance(plain, LocalVectorIndex) and plain.exact_below == 7
    prefixed = open_vector_index(f"local://{tmp_path / 'b'}")
    assert isinstance(prefixed, LocalVectorIndex) and prefixed.root == tmp_path / "b"
    with pytest.raises(VectorIndexError, match="unsupported vector index URI scheme 's3'"):
        open_vector_index("s3://bucket/index")

    from mugpos.vectorindex.atlas import AtlasVectorIndex

    # MongoClient connects lazily: nothing is contacted here.
    atlas = open_vector_index(
        "mongodb://user:secret@127.0.0.1:1/?serverSelectionTimeoutMS=50",
        database="db1",
        collection="vecs",
        index_name="vidx",
        num_dimensions=512,
    )
    try:
        assert isinstance(atlas, AtlasVectorIndex)
        info = atlas.describe()
        assert info == {
            "backend": "atlas",
            "database": "db1",
            "collection": "vecs",
            "index_name": "vidx",
            "num_dimensions": 512,
            "ready": False,
            "status": None,  # not read yet: nothing is contacted before a search or refresh
            "queryable": None,
            "version": None,
        }
        assert "secret" not in repr(info)
    finally:
        atlas.close()


def test_starved_graph_walk_falls_back_to_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filtered walk that returns fewer than k hits must not shorten the answer."""
    from mugpos.vectorindex._hnsw import HnswGraph

    records = labelled("m", 120)
    ann = LocalVectorIndex(tmp_path / "a", exact_below=20, exact_filtered_below=1)
    exact = LocalVectorIndex(tmp_path / "e", exact_below=10**9)
    ann.upsert(records)
    exact.upsert(records)
    real_search = HnswGraph.search
    calls = []

    def starved(self, q, k, ef, allowed):  # type: ignore[no-untyped-def]
        calls.append(ef)
        return real_search(self, q, k, ef, allowed)[:2]

    monkeypatch.setattr(HnswGraph, "search", starved)
    flt = SearchFilter("m", has_mug=True)
    q = unit_vectors(1, dim=24, seed=9)[0]
    assert hits_of(ann, q, 10, flt) == hits_of(exact, q, 10, flt)
    assert len(hits_of(ann, q, 10, flt)) == 10 and calls


def test_ef_search_auto_by_size_or_fixed(tmp_path: Path) -> None:
    auto = LocalVectorIndex(tmp_path / "a")
    assert (auto.ef_for(100_000), auto.ef_for(1_000_000)) == (64, 128)
    assert auto.describe()["ef_search"] == "auto"
    assert LocalVectorIndex(tmp_path / "b", ef_search=200).ef_for(1_000_000) == 200
