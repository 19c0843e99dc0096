"""Document-store fixtures: every test runs against SQLite and, over the wire, MongoDB.

The MongoDB leg talks to ``nx-27017`` (a MongoDB wire-protocol server on SQLite, from PyPI),
started once per session on a free 127.0.0.1 port with its own data directory, pid and log
files, and stopped at the end. Each test gets its own database, so tests never see each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mugpos.docstore import DocumentStore
from mugpos.docstore.mongo import MongoDocumentStore
from mugpos.docstore.sqlite import SqliteDocumentStore


@pytest.fixture(params=["sqlite", "mongodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DocumentStore]:
    """One empty store per test, of each kind."""
    if request.param == "sqlite":
        s: DocumentStore = SqliteDocumentStore(tmp_path / "docs.db")
    else:
        uri = request.getfixturevalue("mongo_uri")
        s = MongoDocumentStore(f"{uri}/t{uuid.uuid4().hex[:12]}")
    try:
        yield s
    finally:
        s.close()
