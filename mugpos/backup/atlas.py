"""MongoDB Atlas Vector Search: export the vector collection's documents and import them back.

Documents are written as MongoDB Extended JSON (``bson.json_util``), so the BSON float32 vector
binaries and dates come back bit for bit. The collection names follow
``mugpos.vectorindex.open_vector_index``'s defaults. Atlas keeps the ``vectorSearch`` index
definition with the collection; restore re-creates it when missing (without waiting for READY).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bson import json_util
from bson.binary import VECTOR_SUBTYPE, Binary

from mugpos.backup.manifest import BackupError
from mugpos.backup.snapshot import Snapshot, describe

DATABASE = "mugpos"
COLLECTION = "image_vectors"
_BATCH = 1000
_JSON = json_util.JSONOptions(json_mode=json_util.JSONMode.RELAXED, tz_aware=True)


def export_name(database: str = DATABASE, collection: str = COLLECTION) -> str:
    return f"atlas/{database}.{collection}.jsonl"


def _collection(uri: str, database: str, collection: str) -> tuple[Any, Any]:
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=10_000)
    return client, client[database][collection]


def _dimension(value: Any) -> int | None:
    """The vector's length: a BSON vector binary (subtype 9) or a plain array."""
    if isinstance(value, Binary) and value.subtype == VECTOR_SUBTYPE:
        return len(value.as_vector().data)
    return len(value) if isinstance(value, list) else None


def _replace(coll: Any, docs: list[dict[str, Any]]) -> None:
    """Write exported documents over their live versions (delete + insert: the same end state
    as a ReplaceOne upsert, and it works on servers that cannot upsert binary fields)."""
    if docs:
        coll.delete_many({"_id": {"$in": [d["_id"] for d in docs]}})
        coll.insert_many(docs, ordered=False)


def export_atlas(
    uri: str, staging: Path, *, database: str = DATABASE, collection: str = COLLECTION
) -> Snapshot:
    from pymongo.errors import PyMongoError

    rel = export_name(database, collection)
    path = staging / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    client, coll = _collection(uri, database, collection)
    try:
        with open(path, "w", encoding="utf-8") as fh:
            for doc in coll.find({}).sort("_id", 1):
                fh.write(json_util.dumps(doc, json_options=_JSON, sort_keys=True) + "\n")
    except PyMongoError as exc:
        raise BackupError(f"exporting the Atlas vector collection failed: {exc}") from exc
    finally:
        client.close()
    return Snapshot("index", present=True, backend="atlas", files=[describe(rel, path)])


def import_atlas(
    export: Path, uri: str, *, database: str = DATABASE, collection: str = COLLECTION
) -> list[str]:
    """Make the collection hold exactly the export; returns warnings (search-index trouble)."""
    from pymongo.errors import PyMongoError

    from mugpos.vectorindex.atlas import AtlasVectorIndex
    from mugpos.vectorindex.base import VectorIndexError

    client, coll = _collection(uri, database, collection)
    warnings: list[str] = []
    try:
        keep, batch, dim = set(), [], None
        with open(export, encoding="utf-8") as fh:
            for line in fh:
                doc = json_util.loads(line, json_options=_JSON)
                keep.add(doc["_id"])
                dim = dim or _dimension(doc.get("vector"))
                batch.append(doc)
                if len(batch) >= _BATCH:
                    _replace(coll, batch)
                    batch = []
        _replace(coll, batch)
        gone = [d["_id"] for d in coll.find({}, {"_id": 1}) if d["_id"] not in keep]
        for start in range(0, len(gone), _BATCH):
            coll.delete_many({"_id": {"$in": gone[start : start + _BATCH]}})
        if dim is not None:
            try:
                AtlasVectorIndex(coll).ensure_search_index(dim, wait=False)
            except VectorIndexError as exc:
                warnings.append(f"vector search index not ensured: {exc.message}")
    except PyMongoError as exc:
        raise BackupError(f"importing into the Atlas vector collection failed: {exc}") from exc
    finally:
        client.close()
    return warnings
