"""The contract every vector-index backend passes (local exact, local ANN, Atlas)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from vindex_helpers import DIM, Backend, make_record, sha, unit_vectors

from mugpos.vectorindex import InvalidVectorError, SearchFilter, VectorKey, VectorRecord

LABEL_SETS = [(), ("mug",), ("laptop",), ("mug", "laptop"), ("mug", "keyboard"), ("book",)]


def corpus(backend: Backend, n: int = 40, seed: int = 0) -> tuple[str, list[VectorRecord]]:
    """n records over 3 shards and varied labels; has_mug derived from labels except i%7==0."""
    model = backend.model("clip")
    vecs = unit_vectors(n, seed=seed)
    records = [
        make_record(
            i,
            model,
            vecs[i],
            shard=f"{i % 3:02x}",
            labels=LABEL_SETS[i % len(LABEL_SETS)],
            has_mug=False if i % 7 == 0 else None,
        )
        for i in range(n)
    ]
    return model, records


def reference(records: list[VectorRecord], q: np.ndarray, k: int, flt: SearchFilter):  # type: ignore[no-untyped-def]
    """Brute-force expected (sha256, cosine) list: what every backend must return."""
    q = q / np.linalg.norm(q)
    scored = []
    for r in records:
        has_mug = ("mug" in r.labels) if r.has_mug is None else r.has_mug
        if r.model_id == flt.model_id and flt.matches(r.shard, r.labels, has_mug):
            v = np.asarray(r.vector, np.float64)
            scored.append((r.sha256, float(v @ q / np.linalg.norm(v))))
    scored.sort(key=lambda t: -t[1])
    return scored[:k]


def assert_same_hits(hits, expected) -> None:  # type: ignore[no-untyped-def]
    assert [h.sha256 for h in hits] == [s for s, _ in expected]
    np.testing.assert_allclose([h.score for h in hits], [c for _, c in expected], atol=1e-4)


def test_empty_index(backend: Backend) -> None:
    idx = backend.open()
    model = backend.model("clip")
    assert idx.count(model_id=model) == 0
    assert idx.keys(model) == set()
    assert idx.get_vector(sha(1), model) is None
    assert idx.search(unit_vectors(1)[0], 5, SearchFilter(model)) == []
    assert idx.delete([VectorKey(sha(1), model)]) == 0
    assert idx.delete_missing(model, []) == 0


def test_self_retrieval_and_hit_fields(backend: Backend) -> None:
    idx = backend.open()
    model, records = corpus(backend)
    assert idx.upsert(records) == len(records)
    assert idx.count(model_id=model) == len(records)
    assert idx.keys(model) == {r.sha256 for r in records}

    def check() -> None:
        for r in records[::5]:
            top = idx.search(r.vector, 3, SearchFilter(model))[0]
            assert top.sha256 == r.sha256
            assert top.score == pytest.approx(1.0, abs=1e-5)
            assert top.model_id == model and top.shard == r.shard
            assert top.labels == tuple(sorted(r.labels))
            assert top.has_mug == (("mug" in r.labels) if r.has_mug is None else r.has_mug)
            assert top.payload == dict(r.payload)

    backend.eventually(check)


def test_scores_are_cosine_best_first(backend: Backend) -> None:
    idx = backend.open()
    model, records = corpus(backend)
    idx.upsert(records)
    q = unit_vectors(1, seed=99)[0] * 3.0  # queries are normalised like stored vectors
    backend.eventually(
        lambda: assert_same_hits(
            idx.search(q, 8, SearchFilter(model)), reference(records, q, 8, SearchFilter(model))
        )
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shards": "01"},
        {"shards": ("00", "02")},
        {"labels_all": ("mug",)},
        {"labels_all": ("mug", "laptop")},
        {"labels_any": ("keyboard", "book")},
        {"has_mug": True},
        {"has_mug": False},
        {"shards": ("00", "01"), "labels_all": ("mug",), "has_mug": True},
        {"labels_any": ("laptop", "book"), "has_mug": False},
        {"labels_all": ("no-such-label",)},
        {"shards": "ff"},
    ],
    ids=lambda kw: ",".join(kw),
)
def test_filters_match_brute_force(backend: Backend, kwargs: dict) -> None:
    idx = backend.open()
    model, records = corpus(backend)
    idx.upsert(records)
    flt = SearchFilter(model, **kwargs)
    for q in unit_vectors(3, seed=7):
        expected = reference(records, q, 10, flt)
        backend.eventually(lambda q=q, e=expected: assert_same_hits(idx.search(q, 10, flt), e))
    if kwargs in ({"labels_all": ("no-such-label",)}, {"shards": "ff"}):
        assert idx.search(records[0].vector, 10, flt) == []


def test_k_larger_than_matches(backend: Backend) -> None:
    idx = backend.open()
    model, records = corpus(backend, n=12)
    idx.upsert(records)
    flt = SearchFilter(model, shards="01")  # 4 of 12
    backend.eventually(
        lambda: assert_same_hits(
            idx.search(records[1].vector, 50, flt), reference(records, records[1].vector, 50, flt)
        )
    )
    assert len(idx.search(records[1].vector, 50, flt)) == 4


def test_upsert_replaces_same_key(backend: Backend) -> None:
    idx = backend.open()
    model, records = corpus(backend, n=10)
    idx.upsert(records)
    new_vec = unit_vectors(1, seed=123)[0]
    changed = make_record(3, model, new_vec * 2.0, shard="07", labels=("bottle",))
    assert idx.upsert([changed]) == 1
    assert idx.count(model_id=model) == 10
    np.testing.assert_allclose(idx.get_vector(sha(3), model), new_vec, atol=1e-6)

    def check() -> None:
        top = idx.search(new_vec, 1, SearchFilter(model))[0]
        assert (top.sha256, top.shard, top.labels) == (sha(3), "07", ("bottle",))
        old_hits = idx.search(records[3].vector, 10, SearchFilter(model))
        assert all(h.score < 0.999 for h in old_hits if h.sha256 == sha(3))
        # The old filter fields are gone with the old version of the record.
        assert sha(3) not in {
            h.sha256 for h in idx.search(new_vec, 10, SearchFilter(model, shards="00"))
        }

    backend.eventually(check)


def test_duplicate_key_in_one_batch_last_wins(backend: Backend) -> None:
    idx = backend.open()
    model = backend.model("clip")
    a, b = unit_vectors(2, seed=5)
    assert idx.upsert([make_record(1, model, a), make_record(1, model, b)]) == 1
    assert idx.count(model_id=model) == 1
    np.testing.assert_allclose(idx.get_vector(sha(1), model), b, atol=1e-6)


def test_vectors_are_stored_normalised(backend: Backend) -> None:
    idx = backend.open()
    model = backend.model("clip")
    v = np.arange(1, DIM + 1, dtype=np.float64)
    idx.upsert([make_record(1, model, v)])
    stored = idx.get_vector(sha(1), model)
    assert stored is not None and stored.dtype == np.float32
    np.testing.assert_allclose(stored, v / np.linalg.norm(v), atol=1e-6)


def test_delete(backend: Backend) -> None:
    idx = backend.open()
    model, records = corpus(backend, n=10)
    idx.upsert(records)
    gone = [VectorKey(sha(2), model), (sha(5), model), VectorKey(sha(999), model)]
    assert idx.delete(gone) == 2
    assert idx.count(model_id=model) == 8
    assert idx.keys(model) == {r.sha256 for r in records} - {sha(2), sha(5)}
    assert idx.get_vector(sha(2), model) is None

    def check() -> None:
        hits = idx.search(records[2].vector, 10, SearchFilter(model))
        assert len(hits) == 8 and {sha(2), sha(5)}.isdisjoint(h.sha256 for h in hits)

    backend.eventually(check)


def test_delete_missing_removes_images_that_left(backend: Backend) -> None:
    idx = backend.open()
    model, records = corpus(backend, n=12)  # shards 00, 01, 02: 4 each
    other = backend.model("ssd")
    idx.upsert(
        records + [make_record(i, other, r.vector, shard=r.shard) for i, r in enumerate(records)]
    )
    shard1 = [r.sha256 for r in records if r.shard == "01"]
    # Shard 01 now holds only its first image; other shards and models are untouched.
    assert idx.delete_missing(model, shard1[:1], shard="01") == 3
    assert idx.count(model_id=model, shard="01") == 1
    assert idx.count(model_id=model) == 9
    assert idx.count(model_id=other) == 12
    # Without a shard: everything of the model not kept goes.
    keep = {records[0].sha256, shard1[0]}
    assert idx.delete_missing(model, keep) == 7
    assert idx.keys(model) == keep
    assert idx.delete_missing(model, keep) == 0
    backend.eventually(
        lambda: assert_same_hits(
            idx.search(records[0].vector, 10, SearchFilter(model)),
            reference(
                [r for r in records if r.sha256 in keep], records[0].vector, 10, SearchFilter(model)
            ),
        )
    )


def test_models_are_isolated(backend: Backend) -> None:
    idx = backend.open()
    a, b = backend.model("clip"), backend.model("ssd")
    vecs = unit_vectors(6)
    idx.upsert([make_record(i, a, vecs[i]) for i in range(3)])
    idx.upsert([make_record(i, b, vecs[i]) for i in range(3, 6)])
    assert idx.count(model_id=a) == 3 and idx.count(model_id=b) == 3

    def check() -> None:
        hits = idx.search(vecs[4], 10, SearchFilter(a))
        assert {h.model_id for h in hits} == {a} and len(hits) == 3

    backend.eventually(check)


@pytest.mark.parametrize(
    "vector, message",
    [
        (np.ones(DIM + 1), "dimension"),
        (np.full(DIM, np.nan), "NaN or infinite"),
        (np.r_[np.inf, np.ones(DIM - 1)], "NaN or infinite"),
        (np.zeros(DIM), "zero length"),
        (np.ones((2, DIM)), "1-d"),
    ],
    ids=["dimension", "nan", "inf", "zero", "2d"],
)
def test_bad_vectors_refused_and_batch_not_written(backend: Backend, vector, message) -> None:  # type: ignore[no-untyped-def]
    idx = backend.open()
    model = backend.model("clip")
    idx.upsert([make_record(1, model, unit_vectors(1)[0])])
    good = make_record(2, model, unit_vectors(1, seed=1)[0])
    with pytest.raises(InvalidVectorError, match=message):
        idx.upsert([good, make_record(3, model, vector)])
    assert idx.count(model_id=model) == 1  # the good record of the bad batch was not written
    with pytest.raises(InvalidVectorError, match=message):
        idx.search(vector, 5, SearchFilter(model))


def test_bad_records_and_arguments_refused(backend: Backend) -> None:
    idx = backend.open()
    model = backend.model("clip")
    v = unit_vectors(1)[0]
    with pytest.raises(InvalidVectorError, match="sha256"):
        idx.upsert([VectorRecord("not-a-hash", model, v, shard="00")])
    with pytest.raises(InvalidVectorError, match="shard"):
        idx.upsert([VectorRecord(sha(1), model, v, shard="")])
    with pytest.raises(InvalidVectorError, match="labels"):
        idx.upsert([VectorRecord(sha(1), model, v, shard="00", labels="mug")])
    with pytest.raises(InvalidVectorError, match="JSON"):
        idx.upsert([VectorRecord(sha(1), model, v, shard="00", payload={"x": object()})])
    with pytest.raises(InvalidVectorError, match="k must be"):
        idx.search(v, 0, SearchFilter(model))
    with pytest.raises(InvalidVectorError, match="model_id"):
        SearchFilter("")
    assert idx.count(model_id=model) == 0


def test_reopen_gives_same_results(backend: Backend) -> None:
    idx = backend.open()
    model, records = corpus(backend)
    idx.upsert(records)
    idx.delete([VectorKey(sha(4), model)])
    queries = unit_vectors(4, seed=11)
    flt = SearchFilter(model, labels_any=("mug", "book"))
    before = [idx.search(q, 7, flt) for q in queries]
    idx.close()
    again = backend.open()
    assert again.count(model_id=model) == len(records) - 1
    assert again.keys(model) == {r.sha256 for r in records} - {sha(4)}
    np.testing.assert_array_equal(again.get_vector(sha(9), model), idx.get_vector(sha(9), model))
    assert [again.search(q, 7, flt) for q in queries] == before
    # The reopened index takes writes (loaded columns are writable, the graph extends).
    assert again.delete([VectorKey(sha(9), model)]) == 1
    assert again.upsert([make_record(1000, model, queries[0], labels=("mug",))]) == 1
    assert again.count(model_id=model) == len(records) - 1
    backend.eventually(
        lambda: assert_same_hits(again.search(queries[0], 1, flt), [(sha(1000), 1.0)])
    )


def test_crash_during_save_keeps_previous_state(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not backend.is_local:
        pytest.skip("Atlas writes are durable server-side: there is no client-side save step")
    idx = backend.open()
    model, records = corpus(backend, n=20)
    idx.upsert(records[:10])
    expected = idx.search(records[0].vector, 5, SearchFilter(model))

    real_replace = os.replace

    def crash_on_publish(src, dst, *a, **kw):  # type: ignore[no-untyped-def]
        if os.fspath(dst).endswith("CURRENT"):
            raise OSError("simulated crash before the pointer swap")
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", crash_on_publish)
    with pytest.raises(OSError, match="simulated crash"):
        idx.upsert(records[10:])
    monkeypatch.undo()

    reopened = backend.open()
    assert reopened.count(model_id=model) == 10
    assert reopened.search(records[0].vector, 5, SearchFilter(model)) == expected
    # The next successful save publishes everything and clears the orphaned version.
    reopened.upsert(records[10:])
    assert backend.open().count(model_id=model) == 20
