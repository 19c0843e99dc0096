"""The production backend: MongoDB (Atlas or self-hosted) through pymongo.

Errors from the driver become :class:`DocumentStoreError` so callers handle one type whichever
backend is configured.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pymongo
from pymongo.errors import DuplicateKeyError, PyMongoError

from mugpos.docstore.base import (
    Collection,
    Document,
    DocumentStore,
    DocumentStoreError,
    DuplicateDocumentError,
    Filter,
    Sort,
    check_document,
    check_field,
    check_filter,
    check_name,
)

DEFAULT_DATABASE = "mugpos"


@contextmanager
def _driver_errors(what: str) -> Iterator[None]:
    try:
        yield
    except DuplicateKeyError:
        raise
    except PyMongoError as exc:
        raise DocumentStoreError(f"MongoDB {what} failed: {exc}") from exc


class MongoCollection(Collection):
    def __init__(self, coll: Any, name: str) -> None:
        self._coll = coll
        self.name = name

    def insert(self, doc: Mapping[str, Any]) -> str:
        clean = check_document(doc)
        try:
            with _driver_errors("insert"):
                self._coll.insert_one(clean)
        except DuplicateKeyError as exc:
            raise DuplicateDocumentError(
                f"{self.name}: a document with _id {clean['_id']!r} exists",
                details={"collection": self.name, "id": clean["_id"]},
            ) from exc
        return str(clean["_id"])

    def get(self, doc_id: str) -> Document | None:
        with _driver_errors("find"):
            return self._coll.find_one({"_id": doc_id})

    def replace(self, doc: Mapping[str, Any]) -> None:
        clean = check_document(doc)
        with _driver_errors("replace"):
            self._coll.replace_one({"_id": clean["_id"]}, clean, upsert=True)

    def replace_if(self, doc: Mapping[str, Any], expected: Filter) -> bool:
        clean = check_document(doc)
        query = {**check_filter(expected), "_id": clean["_id"]}
        with _driver_errors("replace"):
            return self._coll.replace_one(query, clean).matched_count == 1

    def delete(self, doc_id: str) -> bool:
        with _driver_errors("delete"):
            return self._coll.delete_one({"_id": doc_id}).deleted_count == 1

    def find(
        self, flt: Filter | None = None, *, sort: Sort = (), limit: int | None = None
    ) -> list[Document]:
        keys = [
            (check_field(f), pymongo.DESCENDING if d < 0 else pymongo.ASCENDING) for f, d in sort
        ]
        keys.append(("_id", pymongo.ASCENDING))
        with _driver_errors("find"):
            cursor = self._coll.find(check_filter(flt)).sort(keys)
            if limit is not None:
                cursor = cursor.limit(int(limit))
            return list(cursor)

    def count(self, flt: Filter | None = None) -> int:
        with _driver_errors("count"):
            return int(self._coll.count_documents(check_filter(flt)))

    def delete_many(self, flt: Filter | None = None) -> int:
        with _driver_errors("delete"):
            return int(self._coll.delete_many(check_filter(flt)).deleted_count)


class MongoDocumentStore(DocumentStore):
    """``uri`` is a ``mongodb://`` or ``mongodb+srv://`` URI; its path names the database."""

    def __init__(self, uri: str, database: str | None = None, *, timeout_ms: int = 5000) -> None:
        with _driver_errors("connect"):
            self._client: pymongo.MongoClient[Document] = pymongo.MongoClient(
                uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
            )
            self._db = (
                self._client[database]
                if database
                else self._client.get_default_database(default=DEFAULT_DATABASE)
            )
        self._where = f"mongodb database {self._db.name!r}"

    def ping(self) -> None:
        """Raise :class:`DocumentStoreError` unless the server answers."""
        with _driver_errors("ping"):
            self._client.admin.command("ping")

    def collection(self, name: str) -> MongoCollection:
        return MongoCollection(self._db[check_name(name)], name)

    def describe(self) -> str:
        return self._where

    def close(self) -> None:
        self._client.close()
