"""The embedded default: every collection in one SQLite table of JSON documents.

One connection guarded by a lock (the API calls from worker threads); WAL so readers in other
processes (a Dagster run, the CLI) do not block on a writer.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mugpos.docstore.base import (
    Collection,
    Document,
    DocumentStore,
    DocumentStoreError,
    DuplicateDocumentError,
    Filter,
    Scalar,
    Sort,
    check_document,
    check_field,
    check_filter,
    check_name,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (collection, id)
)
"""


def _where(flt: dict[str, Scalar]) -> tuple[str, list[Any]]:
    """SQL conditions matching MongoDB's equality semantics (None matches null or missing)."""
    parts, args = ["collection = ?"], []
    for field, value in flt.items():
        path = "$." + field
        if value is None:
            parts.append("json_extract(body, ?) IS NULL")
            args.append(path)
        elif isinstance(value, bool):
            parts.append("json_type(body, ?) = ?")
            args += [path, "true" if value else "false"]
        elif isinstance(value, int | float):
            parts.append("json_type(body, ?) IN ('integer', 'real') AND json_extract(body, ?) = ?")
            args += [path, path, value]
        else:
            parts.append("json_type(body, ?) = 'text' AND json_extract(body, ?) = ?")
            args += [path, path, value]
    return " AND ".join(parts), args


class SqliteCollection(Collection):
    def __init__(self, store: SqliteDocumentStore, name: str) -> None:
        self.store = store
        self.name = check_name(name)

    def _run(self, sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
        return self.store.execute(sql, args)[0]

    def insert(self, doc: Mapping[str, Any]) -> str:
        clean = check_document(doc)
        try:
            self._run(
                "INSERT INTO documents (collection, id, body) VALUES (?, ?, ?)",
                [self.name, clean["_id"], json.dumps(clean)],
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateDocumentError(
                f"{self.name}: a document with _id {clean['_id']!r} exists",
                details={"collection": self.name, "id": clean["_id"]},
            ) from exc
        return str(clean["_id"])

    def get(self, doc_id: str) -> Document | None:
        rows = self._run(
            "SELECT body FROM documents WHERE collection = ? AND id = ?", [self.name, doc_id]
        )
        return json.loads(rows[0][0]) if rows else None

    def replace(self, doc: Mapping[str, Any]) -> None:
        clean = check_document(doc)
        self._run(
            "INSERT INTO documents (collection, id, body) VALUES (?, ?, ?) "
            "ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body",
            [self.name, clean["_id"], json.dumps(clean)],
        )

    def replace_if(self, doc: Mapping[str, Any], expected: Filter) -> bool:
        clean = check_document(doc)
        where, args = _where(check_filter(expected))
        sql = f"UPDATE documents SET body = ? WHERE {where} AND id = ?"  # noqa: S608
        changed = self.store.execute(sql, [json.dumps(clean), self.name, *args, clean["_id"]])[1]
        return changed > 0

    def delete(self, doc_id: str) -> bool:
        sql = "DELETE FROM documents WHERE collection = ? AND id = ?"
        return self.store.execute(sql, [self.name, doc_id])[1] > 0

    def find(
        self, flt: Filter | None = None, *, sort: Sort = (), limit: int | None = None
    ) -> list[Document]:
        where, args = _where(check_filter(flt))
        order = []
        for field, direction in sort:
            check_field(field)
            order.append(f"json_extract(body, ?) {'DESC' if direction < 0 else 'ASC'}")
            args.append("$." + field)
        order.append("id ASC")
        sql = f"SELECT body FROM documents WHERE {where} ORDER BY {', '.join(order)}"  # noqa: S608
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [json.loads(r[0]) for r in self._run(sql, [self.name, *args])]

    def count(self, flt: Filter | None = None) -> int:
        where, args = _where(check_filter(flt))
        sql = f"SELECT COUNT(*) FROM documents WHERE {where}"  # noqa: S608 - placeholders only
        return int(self._run(sql, [self.name, *args])[0][0])

    def delete_many(self, flt: Filter | None = None) -> int:
        where, args = _where(check_filter(flt))
        sql = f"DELETE FROM documents WHERE {where}"  # noqa: S608 - placeholders only
        return self.store.execute(sql, [self.name, *args])[1]


class SqliteDocumentStore(DocumentStore):
    """``path`` is a file (created with its parent directory) or ``":memory:"``."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30.0
            )
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise DocumentStoreError(f"cannot open SQLite store {self.path}: {exc}") from exc
        self._lock = threading.RLock()

    def execute(self, sql: str, args: list[Any]) -> tuple[list[tuple[Any, ...]], int]:
        """Rows and the number of rows changed, under the connection lock."""
        with self._lock:
            try:
                cur = self._conn.execute(sql, args)
                return cur.fetchall(), cur.rowcount
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as exc:
                raise DocumentStoreError(f"SQLite store {self.path}: {exc}") from exc

    def collection(self, name: str) -> SqliteCollection:
        return SqliteCollection(self, name)

    def describe(self) -> str:
        return f"sqlite:///{self.path}"

    def close(self) -> None:
        with self._lock:
            self._conn.close()
