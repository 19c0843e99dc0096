"""One suite for both document stores (SQLite file, MongoDB over the wire)."""

from __future__ import annotations

import pytest

from mugpos.docstore import DocumentStore, DocumentStoreError, DuplicateDocumentError

DOC = {
    "_id": "a1",
    "kind": "analysis",
    "score": 87.5,
    "count": 3,
    "ok": True,
    "none": None,
    "text": "tête-à-tête ☕",
    "nested": {"list": [1, 2.25, "x", None, {"deep": False}], "empty": {}},
    "big": 2**53 + 1,
    "tiny": 5e-324,
}


def test_insert_get_round_trips_exactly(store: DocumentStore) -> None:
    c = store.collection("analyses")
    assert c.insert(DOC) == "a1"
    got = c.get("a1")
    assert got == DOC
    assert type(got["count"]) is int and type(got["score"]) is float  # type: ignore[index]
    assert c.get("missing") is None


def test_duplicate_ids_and_replace(store: DocumentStore) -> None:
    c = store.collection("feedback")
    c.insert({"_id": "x", "v": 1})
    with pytest.raises(DuplicateDocumentError) as err:
        c.insert({"_id": "x", "v": 2})
    assert err.value.code == "duplicate_document"
    c.replace({"_id": "x", "v": 3})
    c.replace({"_id": "y", "v": 4})  # upsert
    assert c.get("x") == {"_id": "x", "v": 3}
    assert c.count() == 2


def test_find_filters_sorts_and_limits(store: DocumentStore) -> None:
    c = store.collection("items")
    rows = [
        {"_id": "d", "group": "a", "n": 2, "meta": {"tag": "x"}},
        {"_id": "b", "group": "a", "n": 1, "meta": {"tag": "y"}},
        {"_id": "c", "group": "b", "n": 3, "meta": {"tag": "x"}},
        {"_id": "a", "group": "a", "n": 2, "meta": {"tag": "x"}, "flag": None},
    ]
    for row in rows:
        c.insert(row)
    assert [d["_id"] for d in c.find()] == ["a", "b", "c", "d"]  # by _id
    assert [d["_id"] for d in c.find({"group": "a"}, sort=[("n", -1)])] == ["a", "d", "b"]
    assert [d["_id"] for d in c.find({"meta.tag": "x"}, sort=[("n", 1)])] == ["a", "d", "c"]
    assert [d["_id"] for d in c.find({"group": "a"}, sort=[("n", 1)], limit=2)] == ["b", "a"]
    assert [d["_id"] for d in c.find({"n": 2.0})] == ["a", "d"]  # numbers compare by value
    assert [d["_id"] for d in c.find({"flag": None})] == ["a", "b", "c", "d"]  # null or missing
    assert c.count({"group": "a"}) == 3
    assert c.delete_many({"group": "a"}) == 3
    assert [d["_id"] for d in c.find()] == ["c"]


def test_delete_and_collections_are_separate(store: DocumentStore) -> None:
    a, b = store.collection("one"), store.collection("two")
    a.insert({"_id": "k", "v": 1})
    b.insert({"_id": "k", "v": 2})
    assert a.delete("k") is True
    assert a.delete("k") is False
    assert b.get("k") == {"_id": "k", "v": 2}


@pytest.mark.parametrize(
    "doc",
    [
        {"v": 1},  # no _id
        {"_id": 5},
        {"_id": ""},
        {"_id": "x", "$bad": 1},
        {"_id": "x", "a.b": 1},
        {"_id": "x", "nan": float("nan")},
        {"_id": "x", "when": object()},
        {"_id": "x", "huge": 2**70},
    ],
)
def test_bad_documents_are_typed_errors(store: DocumentStore, doc: dict) -> None:
    with pytest.raises(DocumentStoreError):
        store.collection("bad").insert(doc)


def test_bad_names_and_queries(store: DocumentStore) -> None:
    with pytest.raises(DocumentStoreError):
        store.collection("Bad Name")
    c = store.collection("ok")
    with pytest.raises(DocumentStoreError):
        c.find({"$where": "1"})
    with pytest.raises(DocumentStoreError):
        c.find({"x": {"$gt": 1}})  # type: ignore[dict-item]
    with pytest.raises(DocumentStoreError):
        c.find(sort=[("x; DROP TABLE documents", 1)])


def test_replace_if_is_a_compare_and_swap(store: DocumentStore) -> None:
    c = store.collection("leases")
    c.insert({"_id": "l", "owner": "a", "until": 10, "meta": {"n": 1}})
    # A stale expectation loses and leaves the document as it was.
    assert not c.replace_if({"_id": "l", "owner": "b", "until": 20}, {"owner": "x"})
    assert c.get("l") == {"_id": "l", "owner": "a", "until": 10, "meta": {"n": 1}}
    # The matching one wins, on several fields and a dotted path.
    assert c.replace_if({"_id": "l", "owner": "b", "until": 20}, {"owner": "a", "meta.n": 1})
    assert c.get("l") == {"_id": "l", "owner": "b", "until": 20}
    # Only one of two writers holding the same expectation succeeds.
    wins = [c.replace_if({"_id": "l", "owner": w, "until": 30}, {"owner": "b"}) for w in "cd"]
    assert wins == [True, False] and c.get("l")["owner"] == "c"  # type: ignore[index]
    # None matches a missing field; an absent document is never created.
    assert c.replace_if({"_id": "l", "owner": "e"}, {"lease": None})
    assert not c.replace_if({"_id": "nope", "owner": "e"}, {})
    assert c.get("nope") is None
