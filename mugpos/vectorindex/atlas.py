"""MongoDB Atlas Vector Search backend (pymongo).

One collection holds the vectors of every model with the same dimension: documents keyed
``"<model_id>:<sha256>"``, the vector as BSON float32 binary, filter fields at the top level.
A ``vectorSearch`` index has one ``numDimensions``, so embedders of different dimensions (CLIP
512-d, SSD 1280-d) need one collection (or index name) each; a mismatch is refused, not
silently left unindexed. Shapes live in ``atlas_queries`` (pure, unit-tested); this module only
does I/O. Atlas indexes asynchronously: a write is visible to ``$vectorSearch`` about a second
later, while ``count``/``keys``/``get_vector`` read the collection and see it at once.

Readiness: waiting for READY belongs to whoever builds the index (the ``vector_index`` asset
calls :meth:`AtlasVectorIndex.ensure_search_index`). Searches never wait: they run whenever
Atlas says the index is ``queryable`` (a rebuild in progress, BUILDING, and a STALE index both
still answer) and refuse at once, with the status, when it is not. The status is read at most
once per ``status_ttl_s`` (the API's background poll calls :meth:`refresh`), so a request costs
no extra round trip.

Version: every write bumps a version document in ``<collection>_meta``; :attr:`version` (read on
:meth:`refresh`) is part of the API's cache key, so cached similar scenes change when the index
does.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from pymongo import ReplaceOne
from pymongo.errors import CollectionInvalid, PyMongoError
from pymongo.operations import SearchIndexModel

from mugpos.vectorindex import atlas_queries as q
from mugpos.vectorindex.base import (
    Hit,
    InvalidVectorError,
    SearchFilter,
    VectorIndex,
    VectorIndexError,
    VectorKey,
    VectorRecord,
    as_key,
    check_k,
    clean_record,
    dedupe_last,
    normalize_vector,
)

if TYPE_CHECKING:
    from pymongo.collection import Collection

DEFAULT_INDEX_NAME = "mugpos_image_vectors"
_BATCH = 1000
STATUS_TTL_S = 5.0


def _chunks(items: list[Any], size: int = _BATCH) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class AtlasVectorIndex(VectorIndex):
    """Vectors in an Atlas collection, searched with ``$vectorSearch``."""

    def __init__(
        self,
        collection: Collection,
        *,
        index_name: str = DEFAULT_INDEX_NAME,
        num_dimensions: int | None = None,
        ready_timeout_s: float = 600.0,
        poll_interval_s: float = 5.0,
        owns_client: bool = False,
        status_ttl_s: float = STATUS_TTL_S,
    ) -> None:
        self._collection = collection
        self._meta = collection.database[f"{collection.name}_meta"]
        self.index_name = index_name
        self._dim = num_dimensions
        self.ready_timeout_s = ready_timeout_s
        self.poll_interval_s = poll_interval_s
        self.status_ttl_s = status_ttl_s
        self._owns_client = owns_client
        self._ready = False  # READY confirmed by a wait (the building asset's)
        self._index_exists = False  # created or found: upserts need not check again
        # Last seen search-index status: (monotonic time, status, queryable).
        self._status: tuple[float, str, bool] | None = None
        self._version: str | None = None

    @classmethod
    def connect(
        cls, uri: str, *, database: str = "mugpos", collection: str = "image_vectors", **kwargs: Any
    ) -> AtlasVectorIndex:
        from pymongo import MongoClient

        client: MongoClient[dict[str, Any]] = MongoClient(uri, appname="mugpos")
        return cls(client[database][collection], owns_client=True, **kwargs)

    # --- the search index ----------------------------------------------------------------
    def _index_info(self) -> dict[str, Any] | None:
        for info in self._collection.list_search_indexes(self.index_name):
            if info.get("name") == self.index_name:
                return dict(info)
        return None

    def _ensure_collection(self) -> None:
        # Creating a search index on a collection that does not exist yet fails on some versions.
        db, name = self._collection.database, self._collection.name
        if not db.list_collection_names(filter={"name": name}):
            with contextlib.suppress(CollectionInvalid):  # created concurrently
                db.create_collection(name)

    def ensure_search_index(self, num_dimensions: int | None = None, *, wait: bool = True) -> None:
        """Create the ``vectorSearch`` index if missing (refuse an incompatible existing one),
        then, with ``wait``, poll until it is READY (raise on FAILED/STALE or timeout)."""
        dim = num_dimensions or self._dim
        try:
            info = self._index_info()
            if info is None:
                if dim is None:
                    raise VectorIndexError("cannot create the vector index: dimension unknown")
                self._ensure_collection()
                definition = q.index_definition(dim)
                model = SearchIndexModel(
                    definition=definition, name=self.index_name, type="vectorSearch"
                )
                self._collection.create_search_index(model)
            else:
                definition = info.get("latestDefinition") or info.get("definition") or {}
                problems = q.definition_problems(definition, dim)
                if problems:
                    raise VectorIndexError(
                        f"existing search index {self.index_name!r} does not fit: "
                        + "; ".join(problems)
                        + " (use another collection or index name per embedding dimension)",
                        details={"problems": problems},
                    )
                dim = q.definition_dimensions(definition)
            self._dim = dim
            self._index_exists = True
            if wait:
                info = q.wait_for_search_index(
                    lambda: self._collection.list_search_indexes(self.index_name),
                    self.index_name,
                    timeout_s=self.ready_timeout_s,
                    poll_interval_s=self.poll_interval_s,
                )
                self._ready = True
                self._note_status(info)
        except PyMongoError as exc:
            raise VectorIndexError(f"Atlas search index {self.index_name!r}: {exc}") from exc

    def _note_status(self, info: dict[str, Any] | Any | None) -> tuple[str, bool]:
        status, queryable = q.search_status(info)
        self._status = (time.monotonic(), status, queryable)
        return status, queryable

    def search_status(self, *, max_age_s: float | None = None) -> tuple[str, bool]:
        """(status, queryable) of the search index, read again when older than ``max_age_s``
        (default ``status_ttl_s``); one ``$listSearchIndexes`` round trip at most, no wait."""
        age = self.status_ttl_s if max_age_s is None else max_age_s
        if self._status is not None and time.monotonic() - self._status[0] < age:
            return self._status[1], self._status[2]
        try:
            info = self._index_info()
        except PyMongoError as exc:
            raise VectorIndexError(f"Atlas: cannot list search indexes: {exc}") from exc
        if info is not None and self._dim is None:
            self._dim = q.definition_dimensions(info.get("latestDefinition") or {})
        return self._note_status(info)

    def refresh(self) -> None:
        """Read the search-index status and the index version now (the API's background poll)."""
        self.search_status(max_age_s=0.0)
        try:
            doc = self._meta.find_one({"_id": self.index_name})
        except PyMongoError as exc:
            raise VectorIndexError(f"Atlas: cannot read the index version: {exc}") from exc
        self._version = None if doc is None else str(doc.get("version"))

    @property
    def version(self) -> str | None:
        """Changes with every write to the index (as last read by :meth:`refresh`)."""
        return self._version

    def _bump_version(self) -> None:
        version = uuid.uuid4().hex
        try:
            self._meta.update_one(
                {"_id": self.index_name}, {"$set": {"version": version}}, upsert=True
            )
        except PyMongoError as exc:
            raise VectorIndexError(f"Atlas: cannot record the index version: {exc}") from exc
        self._version = version

    def _dimension(self) -> int | None:
        if self._dim is None:
            try:
                info = self._index_info()
            except PyMongoError as exc:
                raise VectorIndexError(f"Atlas: cannot list search indexes: {exc}") from exc
            self._note_status(info)  # the same answer tells the status: no second round trip
            if info is not None:
                self._dim = q.definition_dimensions(info.get("latestDefinition") or {})
        return self._dim

    # --- writes --------------------------------------------------------------------------
    def upsert(self, records: Iterable[VectorRecord]) -> int:
        dim = self._dimension()
        cleaned = []
        for rec in records:  # validate everything before writing anything
            clean = clean_record(rec, dim=dim)
            dim = clean.vector.shape[0]
            cleaned.append(clean)
        unique = dedupe_last(cleaned)
        if not unique:
            return 0
        if not self._index_exists:
            self.ensure_search_index(dim, wait=False)
        docs = [q.record_document(rec) for rec in unique]
        ops = [ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in docs]
        try:
            for chunk in _chunks(ops):
                self._collection.bulk_write(chunk, ordered=False)
        except PyMongoError as exc:
            raise VectorIndexError(f"Atlas upsert failed: {exc}") from exc
        finally:
            self._bump_version()  # also after a partial write: some documents may have changed
        return len(unique)

    def _delete_ids(self, ids: list[str]) -> int:
        if not ids:
            return 0
        try:
            return sum(
                self._collection.delete_many({"_id": {"$in": chunk}}).deleted_count
                for chunk in _chunks(ids)
            )
        except PyMongoError as exc:
            raise VectorIndexError(f"Atlas delete failed: {exc}") from exc
        finally:
            self._bump_version()

    def delete(self, keys: Iterable[VectorKey | tuple[str, str]]) -> int:
        ids = sorted({q.document_id(k.sha256, k.model_id) for k in map(as_key, keys)})
        return self._delete_ids(ids)

    def delete_missing(
        self, model_id: str, keep_sha256s: Iterable[str], shard: str | None = None
    ) -> int:
        # Diff client-side: a $nin of the whole corpus could pass the 16 MB command limit.
        keep = set(keep_sha256s)
        query: dict[str, Any] = {"model_id": model_id}
        if shard is not None:
            query["shard"] = shard
        gone = [q.document_id(sha, model_id) for sha in self._sha256s(query) if sha not in keep]
        return self._delete_ids(gone)

    # --- reads ---------------------------------------------------------------------------
    def search(self, vector: Any, k: int, filter: SearchFilter) -> list[Hit]:
        k = check_k(k)
        if not isinstance(filter, SearchFilter):
            raise InvalidVectorError("filter must be a SearchFilter (model_id is required)")
        if k > q.MAX_NUM_CANDIDATES:
            raise InvalidVectorError(f"k must be at most {q.MAX_NUM_CANDIDATES} on Atlas")
        dim = self._dimension()
        query = normalize_vector(vector, dim=dim, what="query vector")
        status, queryable = self.search_status()
        if status == "DOES_NOT_EXIST" and self.count(model_id=filter.model_id) == 0:
            return []  # no search index and nothing stored: nothing to find
        if not queryable:
            raise VectorIndexError(
                f"Atlas vector search index {self.index_name!r} is not queryable yet "
                f"(status {status}); the vector_index asset waits for it to be built",
                details={"status": status, "queryable": False},
            )
        pipeline = q.build_search_pipeline(query, k, filter, index_name=self.index_name)
        try:
            return [q.hit_from_document(doc) for doc in self._collection.aggregate(pipeline)]
        except PyMongoError as exc:
            raise VectorIndexError(f"Atlas $vectorSearch failed: {exc}") from exc

    def _sha256s(self, query: dict[str, Any]) -> list[str]:
        try:
            return [d["sha256"] for d in self._collection.find(query, {"sha256": 1, "_id": 0})]
        except PyMongoError as exc:
            raise VectorIndexError(f"Atlas find failed: {exc}") from exc

    def count(self, model_id: str | None = None, shard: str | None = None) -> int:
        query: dict[str, Any] = {}
        if model_id is not None:
            query["model_id"] = model_id
        if shard is not None:
            query["shard"] = shard
        try:
            return int(self._collection.count_documents(query))
        except PyMongoError as exc:
            raise VectorIndexError(f"Atlas count failed: {exc}") from exc

    def keys(self, model_id: str) -> set[str]:
        return set(self._sha256s({"model_id": model_id}))

    def get_vector(self, sha256: str, model_id: str) -> np.ndarray | None:
        try:
            doc = self._collection.find_one(
                {"_id": q.document_id(sha256, model_id)}, {q.VECTOR_PATH: 1}
            )
        except PyMongoError as exc:
            raise VectorIndexError(f"Atlas find failed: {exc}") from exc
        return None if doc is None else q.vector_from_document(doc[q.VECTOR_PATH])

    def describe(self) -> dict[str, Any]:
        # No URI: it may carry credentials.
        return {
            "backend": "atlas",
            "database": self._collection.database.name,
            "collection": self._collection.name,
            "index_name": self.index_name,
            "num_dimensions": self._dim,
            "ready": self._ready,
            "status": self._status[1] if self._status else None,
            "queryable": self._status[2] if self._status else None,
            "version": self._version,
        }

    def close(self) -> None:
        if self._owns_client:
            self._collection.database.client.close()
