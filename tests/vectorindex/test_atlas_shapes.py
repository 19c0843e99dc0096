"""Atlas Vector Search shapes checked against the documented forms, without a server.

The index definition, the ``$vectorSearch`` pipeline, stored documents and the READY poller
are pure; ``ensure_search_index`` is driven through a small stand-in for the three collection
methods it calls (a test double of MongoDB's search-index API, since no Atlas runs here).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from bson.binary import Binary
from vindex_helpers import sha

from mugpos.vectorindex import SearchFilter, VectorIndexError
from mugpos.vectorindex import atlas_queries as q
from mugpos.vectorindex.atlas import AtlasVectorIndex
from mugpos.vectorindex.base import CleanRecord

# Operators the docs list for the $vectorSearch filter (no $all, no $elemMatch).
SUPPORTED_FILTER_OPS = {
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$and", "$or", "$not", "$nor",
    "$exists",
}  # fmt: skip


def operators(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("$"):
                yield key
            yield from operators(value)
    elif isinstance(node, list):
        for item in node:
            yield from operators(item)


def test_index_definition_has_documented_shape() -> None:
    assert q.index_definition(512) == {
        "fields": [
            {"type": "vector", "path": "vector", "numDimensions": 512, "similarity": "cosine"},
            {"type": "filter", "path": "model_id"},
            {"type": "filter", "path": "shard"},
            {"type": "filter", "path": "labels"},
            {"type": "filter", "path": "has_mug"},
        ]
    }
    with pytest.raises(VectorIndexError):
        q.index_definition(0)


def test_definition_problems() -> None:
    assert q.definition_problems(q.index_definition(512), 512) == []
    assert q.definition_problems(q.index_definition(512), None) == []
    assert q.definition_problems(q.index_definition(1280), 512) == [
        "numDimensions is 1280, need 512"
    ]
    partial = {"fields": q.index_definition(512)["fields"][:3]}  # labels, has_mug missing
    assert q.definition_problems(partial, 512) == [
        "filter fields not declared: ['labels', 'has_mug']"
    ]
    euclid = q.index_definition(512)
    euclid["fields"][0]["similarity"] = "euclidean"
    assert q.definition_problems(euclid, 512) == ["similarity is 'euclidean', need 'cosine'"]
    assert q.definition_dimensions(q.index_definition(1280)) == 1280


@pytest.mark.parametrize(
    "limit, expected", [(1, 20), (10, 200), (499, 9980), (500, 10_000), (10_000, 10_000)]
)
def test_num_candidates_about_20x_within_limits(limit: int, expected: int) -> None:
    assert q.num_candidates(limit) == expected
    assert limit <= q.num_candidates(limit) <= 10_000


@pytest.mark.parametrize("limit", [0, 10_001])
def test_num_candidates_out_of_range(limit: int) -> None:
    with pytest.raises(VectorIndexError):
        q.num_candidates(limit)


def test_filter_model_only_and_full() -> None:
    assert q.build_filter(SearchFilter("clip")) == {"model_id": {"$eq": "clip"}}
    full = SearchFilter(
        "clip", shards=("0a", "0b"), labels_all=("mug", "laptop"), labels_any=("book",),
        has_mug=True,
    )  # fmt: skip
    assert q.build_filter(full) == {
        "$and": [
            {"model_id": {"$eq": "clip"}},
            {"shard": {"$in": ["0a", "0b"]}},
            {"labels": {"$eq": "mug"}},  # "all labels": $and of $eq on the array field
            {"labels": {"$eq": "laptop"}},
            {"labels": {"$in": ["book"]}},
            {"has_mug": {"$eq": True}},
        ]
    }
    one_shard = q.build_filter(SearchFilter("clip", shards="0a", has_mug=False))
    assert one_shard == {
        "$and": [
            {"model_id": {"$eq": "clip"}},
            {"shard": {"$eq": "0a"}},
            {"has_mug": {"$eq": False}},
        ]
    }
    assert set(operators(q.build_filter(full))) <= SUPPORTED_FILTER_OPS


def test_search_pipeline_shape() -> None:
    vec = np.array([0.6, 0.8], np.float32)
    flt = SearchFilter("clip", labels_all=("mug",))
    pipeline = q.build_search_pipeline(vec, 10, flt, index_name="vidx")
    assert pipeline == [
        {
            "$vectorSearch": {
                "index": "vidx",
                "path": "vector",
                "queryVector": [pytest.approx(0.6), pytest.approx(0.8)],
                "limit": 10,
                "numCandidates": 200,
                "filter": q.build_filter(flt),
            }
        },
        {
            "$project": {
                "_id": 0,
                "sha256": 1,
                "model_id": 1,
                "shard": 1,
                "labels": 1,
                "has_mug": 1,
                "payload": 1,
                "score": {"$meta": "vectorSearchScore"},
            }
        },
    ]
    # BSON encodes Python floats, not numpy scalars.
    assert all(type(x) is float for x in pipeline[0]["$vectorSearch"]["queryVector"])
    exact = q.build_search_pipeline(vec, 5, flt, index_name="vidx", exact=True)[0]["$vectorSearch"]
    assert exact["exact"] is True and "numCandidates" not in exact


def test_score_maps_back_to_cosine() -> None:
    assert q.cosine_from_score(1.0) == 1.0
    assert q.cosine_from_score(0.5) == 0.0
    assert q.cosine_from_score(0.0) == -1.0
    assert q.cosine_from_score(0.9) == pytest.approx(0.8)
    hit = q.hit_from_document(
        {"sha256": sha(1), "model_id": "clip", "shard": "0a", "labels": ["mug"],
         "has_mug": True, "payload": {"uri": "x.jpg"}, "score": 0.75}
    )  # fmt: skip
    assert (hit.score, hit.labels, hit.payload) == (0.5, ("mug",), {"uri": "x.jpg"})


def test_record_document_stores_float32_binary_vector() -> None:
    vec = np.array([0.6, 0.0, 0.8], np.float32)
    rec = CleanRecord(sha(1), "clip", vec, "0a", ("laptop", "mug"), True, {"uri": "a.jpg"})
    doc = q.record_document(rec)
    assert doc["_id"] == f"clip:{sha(1)}"
    assert {k: doc[k] for k in ("sha256", "model_id", "shard", "labels", "has_mug")} == {
        "sha256": sha(1), "model_id": "clip", "shard": "0a", "labels": ["laptop", "mug"],
        "has_mug": True,
    }  # fmt: skip
    assert isinstance(doc["vector"], Binary) and doc["vector"].subtype == 9  # BSON vector
    assert len(bytes(doc["vector"])) == 2 + 4 * 3  # dtype + padding header, then float32s
    np.testing.assert_array_equal(q.vector_from_document(doc["vector"]), vec)
    np.testing.assert_array_equal(q.vector_from_document([0.6, 0.0, 0.8]), vec)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def listing(*states: dict[str, Any] | None):  # type: ignore[no-untyped-def]
    """A list_search_indexes stand-in returning one state per poll (the last one repeats)."""
    polls = iter(states)
    last: list[dict[str, Any] | None] = [None]

    def list_indexes() -> list[dict[str, Any]]:
        last[0] = next(polls, last[0])
        return [] if last[0] is None else [{"name": "vidx", **last[0]}]

    return list_indexes


def wait(list_indexes, clock: FakeClock, timeout_s: float = 60.0):  # type: ignore[no-untyped-def]
    return q.wait_for_search_index(
        list_indexes, "vidx", timeout_s=timeout_s, poll_interval_s=5.0,
        sleep=clock.sleep, clock=clock.clock,
    )  # fmt: skip


def test_poller_waits_through_pending_and_building_until_ready() -> None:
    clock = FakeClock()
    src = listing(
        None,
        {"status": "PENDING", "queryable": False},
        {"status": "BUILDING", "queryable": False},
        {"status": "READY", "queryable": False},  # not queryable yet: keep waiting
        {"status": "READY", "queryable": True, "latestDefinition": q.index_definition(8)},
    )
    info = wait(src, clock)
    assert info["status"] == "READY" and clock.sleeps == [5.0] * 4


@pytest.mark.parametrize("status", ["FAILED", "STALE", "DELETING"])
def test_poller_raises_on_states_that_never_become_ready(status: str) -> None:
    clock = FakeClock()
    src = listing({"status": "BUILDING"}, {"status": status, "statusDetail": [{"x": 1}]})
    with pytest.raises(VectorIndexError, match=status) as err:
        wait(src, clock)
    assert err.value.details["status"] == status
    assert err.value.details["statusDetail"] == [{"x": 1}]


def test_poller_times_out_with_last_status() -> None:
    clock = FakeClock()
    with pytest.raises(VectorIndexError, match=r"not READY after 12 s \(last status BUILDING\)"):
        wait(listing({"status": "BUILDING"}), clock, timeout_s=12.0)
    assert clock.now == pytest.approx(12.0) and clock.sleeps == [5.0, 5.0, 2.0]


class FakeMeta:
    """The two calls the index makes on its ``<collection>_meta`` collection."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
        return self.docs.get(query["_id"])

    def update_one(self, query: dict[str, Any], update: dict[str, Any], upsert: bool) -> None:
        assert upsert is True
        self.docs.setdefault(query["_id"], {"_id": query["_id"]}).update(update["$set"])


class FakeDatabase:
    def __init__(self) -> None:
        self.name = "db"
        self.collections: list[str] = []
        self.meta: dict[str, FakeMeta] = {}

    def list_collection_names(self, filter: dict[str, str]) -> list[str]:
        return [c for c in self.collections if c == filter["name"]]

    def create_collection(self, name: str) -> None:
        self.collections.append(name)

    def __getitem__(self, name: str) -> FakeMeta:
        return self.meta.setdefault(name, FakeMeta())


class FakeCollection:
    """Just the search-index methods ensure_search_index uses; builds go READY on 2nd poll."""

    def __init__(self, existing: dict[str, Any] | None = None, *, frozen: bool = False) -> None:
        self.name = "vecs"
        self.database = FakeDatabase()
        self.created: list[dict[str, Any]] = []
        self.indexes = [existing] if existing else []
        self.polls = 0
        self.frozen = frozen  # the status never changes (a long rebuild, a stale index)

    def list_search_indexes(self, name: str) -> list[dict[str, Any]]:
        self.polls += 1
        for ix in self.indexes:
            if self.polls > 2 and not self.frozen:
                ix.update(status="READY", queryable=True)
        return [ix for ix in self.indexes if ix["name"] == name]

    def create_search_index(self, model: Any) -> str:
        self.created.append(model.document)
        doc = model.document
        self.indexes.append(
            {"name": doc["name"], "status": "PENDING", "latestDefinition": doc["definition"]}
        )
        return doc["name"]


def test_ensure_search_index_creates_then_waits_for_ready() -> None:
    coll = FakeCollection()
    idx = AtlasVectorIndex(coll, index_name="vidx", num_dimensions=512, poll_interval_s=0.0)  # type: ignore[arg-type]
    idx.ensure_search_index()
    assert coll.database.collections == ["vecs"]
    assert coll.created == [
        {"name": "vidx", "type": "vectorSearch", "definition": q.index_definition(512)}
    ]
    assert idx.describe()["ready"] is True
    idx.ensure_search_index()  # idempotent: an existing compatible index is reused
    assert len(coll.created) == 1


def test_ensure_search_index_adopts_or_refuses_existing() -> None:
    existing = {"name": "vidx", "status": "READY", "queryable": True,
                "latestDefinition": q.index_definition(1280)}  # fmt: skip
    adopted = AtlasVectorIndex(FakeCollection(dict(existing)), index_name="vidx")  # type: ignore[arg-type]
    adopted.ensure_search_index()
    assert adopted.describe()["num_dimensions"] == 1280
    clash = AtlasVectorIndex(
        FakeCollection(dict(existing)),
        index_name="vidx",
        num_dimensions=512,  # type: ignore[arg-type]
    )
    with pytest.raises(VectorIndexError, match="numDimensions is 1280, need 512"):
        clash.ensure_search_index()
    with pytest.raises(VectorIndexError, match="dimension unknown"):
        AtlasVectorIndex(FakeCollection(), index_name="vidx").ensure_search_index()  # type: ignore[arg-type]


class RecordingCollection(FakeCollection):
    """Adds the write/read calls upsert, delete and search make, recording what was sent."""

    def __init__(self, existing: dict[str, Any] | None = None, *, frozen: bool = False) -> None:
        super().__init__(existing, frozen=frozen)
        self.bulk: list[list[Any]] = []
        self.pipelines: list[list[dict[str, Any]]] = []
        self.deleted: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []

    def bulk_write(self, ops: list[Any], ordered: bool) -> None:
        assert ordered is False
        self.bulk.append(ops)

    def aggregate(self, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.pipelines.append(pipeline)
        return self.results

    def find(self, query: dict[str, Any], projection: dict[str, int]) -> list[dict[str, Any]]:
        return []  # what delete_missing lists; these tests store nothing it would remove

    def delete_many(self, query: dict[str, Any]) -> Any:
        self.deleted.append(query)
        return type("Result", (), {"deleted_count": len(query["_id"]["$in"])})()


def test_upsert_search_and_delete_send_documented_shapes() -> None:
    from pymongo import ReplaceOne

    from mugpos.vectorindex import InvalidVectorError, VectorKey, VectorRecord

    ready = {"name": "vidx", "status": "READY", "queryable": True,
             "latestDefinition": q.index_definition(3)}  # fmt: skip
    coll = RecordingCollection(ready)
    idx = AtlasVectorIndex(coll, index_name="vidx")  # type: ignore[arg-type]
    recs = [
        VectorRecord(sha(1), "clip", [3.0, 0.0, 4.0], shard="0a", labels=["mug"]),
        VectorRecord(sha(2), "clip", [0.0, 1.0, 0.0], shard="0b"),
        VectorRecord(sha(1), "clip", [0.0, 0.0, 2.0], shard="0a", labels=["mug"]),  # last wins
    ]
    assert idx.upsert(recs) == 2
    (ops,) = coll.bulk
    assert [op._filter for op in ops] == [{"_id": f"clip:{sha(2)}"}, {"_id": f"clip:{sha(1)}"}]
    assert all(isinstance(op, ReplaceOne) and op._upsert for op in ops)
    np.testing.assert_array_equal(q.vector_from_document(ops[1]._doc["vector"]), [0, 0, 1])
    assert ops[1]._doc["has_mug"] is True and ops[0]._doc["has_mug"] is False

    with pytest.raises(InvalidVectorError, match="dimension 2, expected 3"):
        idx.upsert([VectorRecord(sha(3), "clip", [1.0, 0.0], shard="0a")])
    assert len(coll.bulk) == 1

    coll.results = [{"sha256": sha(1), "model_id": "clip", "shard": "0a", "labels": ["mug"],
                     "has_mug": True, "payload": {}, "score": 0.95}]  # fmt: skip
    flt = SearchFilter("clip", has_mug=True)
    (hit,) = idx.search([0.0, 0.0, 5.0], 4, flt)
    assert hit.sha256 == sha(1) and hit.score == pytest.approx(0.9)
    assert coll.pipelines == [q.build_search_pipeline([0.0, 0.0, 1.0], 4, flt, index_name="vidx")]
    with pytest.raises(InvalidVectorError, match="at most 10000"):
        idx.search([0.0, 0.0, 1.0], 10_001, flt)

    assert idx.delete([VectorKey(sha(1), "clip"), (sha(2), "clip"), (sha(1), "clip")]) == 2
    assert coll.deleted == [{"_id": {"$in": sorted([f"clip:{sha(1)}", f"clip:{sha(2)}"])}}]


HIT = {"sha256": sha(1), "model_id": "clip", "shard": "0a", "labels": [], "has_mug": False,
       "payload": {}, "score": 0.9}  # fmt: skip


def index_in(status: str, queryable: bool | None) -> tuple[AtlasVectorIndex, RecordingCollection]:
    """An index whose search index stays in ``status`` (as documented by list_search_indexes);
    a wait for READY would time out after 0.3 s."""
    info: dict[str, Any] = {"name": "vidx", "status": status,
                            "latestDefinition": q.index_definition(3)}  # fmt: skip
    if queryable is not None:
        info["queryable"] = queryable
    coll = RecordingCollection(info, frozen=True)
    coll.results = [HIT]
    idx = AtlasVectorIndex(coll, index_name="vidx", ready_timeout_s=0.3, poll_interval_s=0.1)  # type: ignore[arg-type]
    return idx, coll


@pytest.mark.parametrize("status", ["READY", "BUILDING", "STALE"])
def test_search_runs_at_once_while_queryable(status: str) -> None:
    """A rebuild in progress (BUILDING, queryable) and a STALE index still answer: the search
    runs with one status read and no wait for READY."""
    idx, coll = index_in(status, queryable=True)
    hits = idx.search([0.0, 0.0, 1.0], 1, SearchFilter("clip"))
    assert [h.sha256 for h in hits] == [sha(1)] and len(coll.pipelines) == 1
    assert coll.polls == 1
    assert idx.describe()["status"] == status and idx.describe()["queryable"] is True
    idx.search([0.0, 0.0, 1.0], 1, SearchFilter("clip"))
    assert coll.polls == 1  # the status is remembered for status_ttl_s


@pytest.mark.parametrize("status", ["PENDING", "FAILED", "BUILDING"])
def test_search_refuses_at_once_when_not_queryable(status: str) -> None:
    idx, coll = index_in(status, queryable=False)
    with pytest.raises(VectorIndexError, match=f"not queryable yet \\(status {status}\\)") as err:
        idx.search([0.0, 0.0, 1.0], 1, SearchFilter("clip"))
    assert err.value.details == {"status": status, "queryable": False}
    assert coll.polls == 1 and coll.pipelines == []


def test_queryable_flag_missing_falls_back_to_the_status() -> None:
    assert q.search_status(None) == ("DOES_NOT_EXIST", False)
    assert q.search_status({"status": "READY"}) == ("READY", True)
    assert q.search_status({"status": "STALE"}) == ("STALE", True)
    assert q.search_status({"status": "BUILDING"}) == ("BUILDING", False)
    assert q.search_status({"status": "BUILDING", "queryable": True}) == ("BUILDING", True)


def test_writes_change_the_version_readers_see() -> None:
    """The API's cache key carries the index version: every write changes it, and a reader
    (another process, another client) sees the change on its next refresh."""
    from mugpos.vectorindex import VectorKey, VectorRecord

    writer, coll = index_in("READY", queryable=True)
    reader = AtlasVectorIndex(coll, index_name="vidx")  # type: ignore[arg-type]
    reader.refresh()
    assert reader.version is None
    writer.upsert([VectorRecord(sha(1), "clip", [1.0, 0.0, 0.0], shard="0a")])
    reader.refresh()
    first = reader.version
    assert first is not None and first == writer.version
    writer.delete([VectorKey(sha(1), "clip")])
    reader.refresh()
    assert reader.version not in (None, first)
    assert writer.delete_missing("clip", set()) == 0  # nothing to remove: no new version
    reader.refresh()
    assert reader.version == writer.version


def test_documents_without_a_search_index_are_not_an_empty_answer() -> None:
    """Vectors stored but no search index (never built, or deleted): a refusal that says so,
    not "no similar scenes"."""

    class Stored(RecordingCollection):
        def count_documents(self, query: dict[str, Any]) -> int:
            return 3

    coll = Stored()
    idx = AtlasVectorIndex(coll, index_name="vidx")  # type: ignore[arg-type]
    with pytest.raises(VectorIndexError, match="DOES_NOT_EXIST"):
        idx.search([1.0, 0.0], 1, SearchFilter("clip"))

    class Empty(RecordingCollection):
        def count_documents(self, query: dict[str, Any]) -> int:
            return 0

    assert AtlasVectorIndex(Empty(), index_name="vidx").search([1.0], 1, SearchFilter("c")) == []  # type: ignore[arg-type]
