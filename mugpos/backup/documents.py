"""Document-store export (JSON lines, one file per collection) and rebuild, for SQLite and MongoDB.

The export goes through the :mod:`mugpos.docstore` interface, so it reads the same from either
backend and restores into either. Lines are sorted by ``_id`` with sorted keys: an unchanged
collection exports to identical bytes, so the next backup uploads nothing for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from mugpos.backup.snapshot import Snapshot, describe
from mugpos.backup.sources import is_mongo, sqlite_path
from mugpos.docstore import open_document_store
from mugpos.docstore.base import COLLECTION_NAME, Document, DocumentStore
from mugpos.docstore.mongo import MongoDocumentStore
from mugpos.docstore.sqlite import SqliteDocumentStore

# Written by the rule repository, the analyses asset and the API; others are discovered.
KNOWN_COLLECTIONS = ("analyses", "feedback", "rule_versions", "rules")
PREFIX = "documents"


def collection_names(store: DocumentStore) -> list[str]:
    """The known collections plus whatever else the backend holds (future collections too)."""
    names = set(KNOWN_COLLECTIONS)
    if isinstance(store, SqliteDocumentStore):
        rows, _ = store.execute("SELECT DISTINCT collection FROM documents", [])
        names |= {r[0] for r in rows}
    elif isinstance(store, MongoDocumentStore):
        names |= set(store._db.list_collection_names())  # the interface has no listing
    return sorted(n for n in names if COLLECTION_NAME.match(n))


def dump_line(doc: Document) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def _export(store: DocumentStore, staging: Path) -> list[Path]:
    out = []
    for name in collection_names(store):
        path = staging / PREFIX / f"{name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.writelines(dump_line(doc) for doc in store.collection(name).find())
        out.append(path)
    return out


def export_documents(location: str, staging: Path) -> Snapshot:
    """Every collection of the store at ``location`` as ``documents/<name>.jsonl``."""
    backend = "mongodb" if is_mongo(location) else "sqlite"
    if backend == "sqlite" and not sqlite_path(location).is_file():
        return Snapshot("documents", present=False, backend=backend)  # opening would create it
    with open_document_store(location) as store:
        if isinstance(store, SqliteDocumentStore):
            # One read transaction: every collection from the same moment (WAL snapshot).
            store.execute("BEGIN", [])
            try:
                paths = _export(store, staging)
            finally:
                store.execute("COMMIT", [])
        else:
            paths = _export(store, staging)
    files = [describe(p.relative_to(staging).as_posix(), p) for p in paths]
    return Snapshot("documents", present=True, backend=backend, files=files)


def read_lines(path: Path) -> Iterator[Document]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def build_sqlite(exports: dict[str, Path], dest: Path) -> None:
    """A new SQLite store at ``dest`` holding exactly the exported documents (one transaction)."""
    store = SqliteDocumentStore(dest)
    try:
        store.execute("BEGIN", [])
        for name, path in sorted(exports.items()):
            coll = store.collection(name)
            for doc in read_lines(path):
                coll.insert(doc)
        store.execute("COMMIT", [])
    finally:
        store.close()  # checkpoints the WAL into the file, so one file is all there is


def import_into(exports: dict[str, Path], location: str) -> None:
    """Make each exported collection of a live store (MongoDB) hold exactly its export."""
    with open_document_store(location) as store:
        for name, path in sorted(exports.items()):
            coll = store.collection(name)
            keep = set()
            for doc in read_lines(path):
                coll.replace(doc)
                keep.add(doc["_id"])
            for doc in coll.find():
                if doc["_id"] not in keep:
                    coll.delete(doc["_id"])
