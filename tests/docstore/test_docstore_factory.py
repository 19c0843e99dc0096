from __future__ import annotations

from pathlib import Path

import pytest

from mugpos.docstore import DocumentStoreError, open_document_store
from mugpos.docstore.mongo import MongoDocumentStore
from mugpos.docstore.sqlite import SqliteDocumentStore


def test_sqlite_uris_and_paths(tmp_path: Path) -> None:
    for uri in (f"sqlite:///{tmp_path}/a/b.db", str(tmp_path / "c.db"), ":memory:"):
        with open_document_store(uri) as s:
            assert isinstance(s, SqliteDocumentStore)
            s.collection("x").insert({"_id": "1"})
    assert (tmp_path / "a" / "b.db").is_file()
    with open_document_store(f"sqlite:///{tmp_path}/a/b.db") as s:
        assert s.collection("x").get("1") == {"_id": "1"}  # persisted
    assert isinstance(open_document_store("sqlite:///:memory:"), SqliteDocumentStore)


def test_mongodb_uri(mongo_uri: str) -> None:
    with open_document_store(f"{mongo_uri}/factorydb") as s:
        assert isinstance(s, MongoDocumentStore)
        assert "factorydb" in s.describe()
        s.ping()
        s.collection("x").replace({"_id": "1", "v": 1})
    with open_document_store(mongo_uri, database="other") as s:
        assert s.collection("x").get("1") is None


def test_unknown_scheme_and_unreachable_server() -> None:
    with pytest.raises(DocumentStoreError):
        open_document_store("redis://localhost/0")
    store = MongoDocumentStore("mongodb://127.0.0.1:1/x", timeout_ms=200)
    with pytest.raises(DocumentStoreError):
        store.collection("x").get("1")
