"""Event-log and webhook-outbox tests run on both document stores: a SQLite file and MongoDB
over the wire (nx-27017, as in the document-store suite)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mugpos.docstore import DocumentStore
from mugpos.docstore.mongo import MongoDocumentStore
from mugpos.docstore.sqlite import SqliteDocumentStore


@pytest.fixture(params=["sqlite", "mongodb"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], DocumentStore]:
    """Opens a new connection to one test's store (call it twice for two processes' view)."""
    if request.param == "sqlite":
        path = tmp_path / "docs.sqlite3"
        return lambda: SqliteDocumentStore(path)
    uri = f"{request.getfixturevalue('mongo_uri')}/e{uuid.uuid4().hex[:12]}"
    return lambda: MongoDocumentStore(uri)


@pytest.fixture()
def store(opener: Callable[[], DocumentStore]) -> Iterator[DocumentStore]:
    s = opener()
    yield s
    s.close()
