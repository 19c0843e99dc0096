"""Pure builders for MongoDB Atlas Vector Search: index definition, documents, pipelines, and
the READY poller. No I/O here, so the shapes are unit-tested without a server.

Facts from the Atlas docs these follow:

* Index: ``type="vectorSearch"``; ``fields`` holds one ``vector`` field (``path``,
  ``numDimensions``, ``similarity``) and every field a query filters on as ``type: filter``.
* ``$vectorSearch`` must be the first stage: ``index``, ``path``, ``queryVector``,
  ``numCandidates`` (ANN: ``limit`` ≤ numCandidates ≤ 10000, about 20× ``limit`` recommended)
  or ``exact: true`` (ENN, no numCandidates), ``limit``, optional ``filter``.
* ``filter`` takes MQL comparison/logical operators ($eq, $ne, $gt(e), $lt(e), $in, $nin,
  $and, $or, $not, $nor, $exists) on indexed filter fields; **not** ``$all`` or
  ``$elemMatch``. On an array field ``$eq`` matches when any element equals the value, so
  "all these labels" is an ``$and`` of ``$eq``.
* Score: ``{"$meta": "vectorSearchScore"}``; for ``cosine`` it is ``(1 + cos) / 2`` in [0, 1].
* Index status (``$listSearchIndexes``): PENDING, BUILDING, READY, FAILED, DELETING,
  DOES_NOT_EXIST, STALE (queryable but no longer replicating, so results go out of date).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from bson.binary import Binary, BinaryVectorDtype

from mugpos.vectorindex.base import CleanRecord, Hit, SearchFilter, VectorIndexError

VECTOR_PATH = "vector"
FILTER_FIELDS = ("model_id", "shard", "labels", "has_mug")
MAX_NUM_CANDIDATES = 10_000
NUM_CANDIDATES_PER_RESULT = 20
# Statuses worth waiting through, and the ones that will not become READY by waiting.
WAIT_STATUSES = frozenset({"PENDING", "BUILDING", "DOES_NOT_EXIST"})
FAIL_STATUSES = frozenset({"FAILED", "STALE", "DELETING"})


def index_definition(num_dimensions: int, *, path: str = VECTOR_PATH) -> dict[str, Any]:
    """The ``vectorSearch`` definition: cosine over ``path``, plus our four filter fields."""
    if num_dimensions < 1:
        raise VectorIndexError(f"numDimensions must be positive, got {num_dimensions}")
    vector = {
        "type": "vector",
        "path": path,
        "numDimensions": int(num_dimensions),
        "similarity": "cosine",
    }
    return {"fields": [vector, *({"type": "filter", "path": f} for f in FILTER_FIELDS)]}


def definition_problems(definition: Mapping[str, Any], num_dimensions: int | None) -> list[str]:
    """Why an existing index definition cannot serve us (empty when it can)."""
    fields = definition.get("fields", [])
    vectors = [f for f in fields if f.get("type") == "vector" and f.get("path") == VECTOR_PATH]
    problems = []
    if not vectors:
        problems.append(f"no vector field on path {VECTOR_PATH!r}")
    else:
        vec = vectors[0]
        if num_dimensions is not None and vec.get("numDimensions") != num_dimensions:
            problems.append(f"numDimensions is {vec.get('numDimensions')}, need {num_dimensions}")
        if vec.get("similarity") != "cosine":
            problems.append(f"similarity is {vec.get('similarity')!r}, need 'cosine'")
    declared = {f.get("path") for f in fields if f.get("type") == "filter"}
    missing = [f for f in FILTER_FIELDS if f not in declared]
    if missing:
        problems.append(f"filter fields not declared: {missing}")
    return problems


def definition_dimensions(definition: Mapping[str, Any]) -> int | None:
    for f in definition.get("fields", []):
        if f.get("type") == "vector" and f.get("path") == VECTOR_PATH:
            return int(f["numDimensions"])
    return None


def document_id(sha256: str, model_id: str) -> str:
    return f"{model_id}:{sha256}"


def record_document(rec: CleanRecord, now: datetime | None = None) -> dict[str, Any]:
    """The stored document: filter fields at the top level, vector as BSON float32 binary
    (4 bytes per dimension instead of a BSON double array's ~9, and Atlas indexes it)."""
    return {
        "_id": document_id(rec.sha256, rec.model_id),
        "sha256": rec.sha256,
        "model_id": rec.model_id,
        "shard": rec.shard,
        "labels": list(rec.labels),
        "has_mug": rec.has_mug,
        "payload": rec.payload,
        VECTOR_PATH: Binary.from_vector(rec.vector, BinaryVectorDtype.FLOAT32),
        "updated_at": now or datetime.now(UTC),
    }


def vector_from_document(value: Any) -> np.ndarray:
    """Read a stored vector back, whether BSON binary vector or a plain array."""
    if isinstance(value, Binary):
        return np.asarray(value.as_vector().data, dtype=np.float32)
    return np.asarray(value, dtype=np.float32)


def num_candidates(limit: int) -> int:
    """About 20× limit (the docs' advice for recall), within Atlas's [limit, 10000]."""
    if not 1 <= limit <= MAX_NUM_CANDIDATES:
        raise VectorIndexError(f"limit must be within 1..{MAX_NUM_CANDIDATES}, got {limit}")
    return min(MAX_NUM_CANDIDATES, max(limit, NUM_CANDIDATES_PER_RESULT * limit))


def build_filter(flt: SearchFilter) -> dict[str, Any]:
    """The ``$vectorSearch`` ``filter`` in MQL, using only operators Atlas supports there."""
    clauses: list[dict[str, Any]] = [{"model_id": {"$eq": flt.model_id}}]
    if flt.shards is not None:
        shards = list(flt.shards)
        clauses.append({"shard": {"$eq": shards[0]} if len(shards) == 1 else {"$in": shards}})
    clauses.extend({"labels": {"$eq": label}} for label in flt.labels_all)  # no $all in Atlas
    if flt.labels_any:
        clauses.append({"labels": {"$in": list(flt.labels_any)}})
    if flt.has_mug is not None:
        clauses.append({"has_mug": {"$eq": flt.has_mug}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def build_search_pipeline(
    query_vector: Sequence[float],
    limit: int,
    flt: SearchFilter,
    *,
    index_name: str,
    exact: bool = False,
) -> list[dict[str, Any]]:
    """``$vectorSearch`` (ANN, or ENN when ``exact``) then a ``$project`` with the score."""
    stage: dict[str, Any] = {
        "index": index_name,
        "path": VECTOR_PATH,
        "queryVector": [float(x) for x in query_vector],
        "limit": int(limit),
        "filter": build_filter(flt),
    }
    if exact:
        if not 1 <= limit <= MAX_NUM_CANDIDATES:
            raise VectorIndexError(f"limit must be within 1..{MAX_NUM_CANDIDATES}, got {limit}")
        stage["exact"] = True
    else:
        stage["numCandidates"] = num_candidates(limit)
    project = {"_id": 0, **{f: 1 for f in ("sha256", *FILTER_FIELDS, "payload")}}
    project["score"] = {"$meta": "vectorSearchScore"}
    return [{"$vectorSearch": stage}, {"$project": project}]


def cosine_from_score(score: float) -> float:
    """Atlas's cosine score ``(1 + cos) / 2`` back to the cosine in [-1, 1]."""
    return float(min(1.0, max(-1.0, 2.0 * float(score) - 1.0)))


def hit_from_document(doc: Mapping[str, Any]) -> Hit:
    return Hit(
        sha256=doc["sha256"],
        model_id=doc["model_id"],
        score=cosine_from_score(doc["score"]),
        shard=doc["shard"],
        labels=tuple(doc.get("labels") or ()),
        has_mug=bool(doc["has_mug"]),
        payload=dict(doc.get("payload") or {}),
    )


def search_status(info: Mapping[str, Any] | None) -> tuple[str, bool]:
    """(status, queryable) from one ``$listSearchIndexes`` entry (None: no such index).

    ``queryable`` is what decides whether a query may run: a READY index is, a BUILDING one
    rebuilding after a definition change still is, a STALE one (no longer replicating) still
    is, with results that may be out of date; PENDING, FAILED and DELETING are not. A server
    that omits the flag is taken at its status (READY and STALE queryable).
    """
    if info is None:
        return "DOES_NOT_EXIST", False
    status = str(info.get("status", "PENDING"))
    queryable = info.get("queryable")
    if queryable is None:
        queryable = status in ("READY", "STALE")
    return status, bool(queryable)


def wait_for_search_index(
    list_indexes: Callable[[], Iterable[Mapping[str, Any]]],
    name: str,
    *,
    timeout_s: float,
    poll_interval_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Mapping[str, Any]:
    """Poll ``list_indexes()`` (``collection.list_search_indexes(name)``) until the index is
    READY and queryable; raise on FAILED/STALE/DELETING or when ``timeout_s`` passes."""
    deadline = clock() + timeout_s
    while True:
        info = next((d for d in list_indexes() if d.get("name") == name), None)
        status = "DOES_NOT_EXIST" if info is None else str(info.get("status", "PENDING"))
        if info is not None and status == "READY" and info.get("queryable", True):
            return info
        if status in FAIL_STATUSES:
            raise VectorIndexError(
                f"Atlas vector search index {name!r} is {status}",
                details={"status": status, "statusDetail": (info or {}).get("statusDetail")},
            )
        if clock() >= deadline:
            raise VectorIndexError(
                f"Atlas vector search index {name!r} not READY after {timeout_s:.0f} s "
                f"(last status {status})",
                details={"status": status},
            )
        sleep(min(poll_interval_s, max(0.0, deadline - clock())))
