"""MongoDB legs over a real wire-protocol server (nx-27017): documents and Atlas vectors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pymongo
import pytest
from conftest import build_home, documents, sha

from mugpos.backup import BackupRoots, RestoreError, restore_backup, run_backup
from mugpos.backup.atlas import export_atlas, import_atlas
from mugpos.docstore import open_document_store
from mugpos.objectstore import LocalObjectStore
from mugpos.settings import Settings
from mugpos.vectorindex import VectorRecord
from mugpos.vectorindex import atlas_queries as q
from mugpos.vectorindex.base import clean_record


def test_documents_from_mongodb_come_back_to_mongodb_and_to_sqlite(
    tmp_path: Path, mongo_uri: str
) -> None:
    home = tmp_path / "home"
    build_home(home)
    uri = f"{mongo_uri}/backup_docs"
    with open_document_store(uri) as store:
        for name, docs in documents(home / "documents.sqlite3").items():
            store.collection(name).delete_many()
            for doc in docs:
                store.collection(name).insert(doc)
    original = documents(uri)
    roots = replace(BackupRoots.from_settings(Settings(home=home)), documents=uri)
    backups = LocalObjectStore(tmp_path / "backups")
    report = run_backup(roots, backups, run_id="m", families=["documents"])
    assert report.manifest.families["documents"].backend == "mongodb"

    with open_document_store(uri) as store:  # damage: a lost, a changed and a stray document
        store.collection("rules").delete("r1")
        store.collection("analyses").replace({"_id": original["analyses"][0]["_id"], "x": 1})
        store.collection("feedback").insert({"_id": "stray"})
    restore_backup(backups, roots)
    assert documents(uri) == original

    sqlite_roots = replace(roots, documents=str(tmp_path / "elsewhere" / "docs.sqlite3"))
    restore_backup(backups, sqlite_roots)
    assert documents(sqlite_roots.documents) == original


def test_atlas_vector_documents_export_and_import_bit_for_bit(
    tmp_path: Path, mongo_uri: str
) -> None:
    coll = pymongo.MongoClient(mongo_uri)["backup_atlas"]["image_vectors"]
    rng = np.random.default_rng(3)
    recs = [
        clean_record(VectorRecord(sha(f"v{i}"), "clip", rng.normal(size=8), "a", ("mug",)))
        for i in range(12)
    ]
    coll.delete_many({})
    coll.insert_many([q.record_document(r) for r in recs])
    before = list(coll.find().sort("_id", 1))
    snap = export_atlas(mongo_uri, tmp_path, database="backup_atlas")
    assert (
        snap.backend == "atlas" and snap.files[0].path == "atlas/backup_atlas.image_vectors.jsonl"
    )

    coll.delete_one({"_id": before[0]["_id"]})
    coll.insert_one({"_id": "stray", "vector": [1.0]})
    warnings = import_atlas(snap.files[0].file, mongo_uri, database="backup_atlas")
    assert list(coll.find().sort("_id", 1)) == before
    # nx-27017 has no search indexes; a real Atlas gets the vectorSearch index re-created.
    assert all("search index" in w for w in warnings)


def test_a_local_index_backup_is_not_poured_into_atlas(tmp_path: Path) -> None:
    home = tmp_path / "home"
    build_home(home)
    roots = BackupRoots.from_settings(Settings(home=home))
    backups = LocalObjectStore(tmp_path / "backups")
    run_backup(roots, backups, run_id="x", families=["index"])
    atlas_roots = replace(roots, index="mongodb+srv://cluster.example/")
    with pytest.raises(RestoreError, match="local vector index but the configured one is atlas"):
        restore_backup(backups, atlas_roots)
