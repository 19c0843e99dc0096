"""Document store for rules, analyses and feedback: MongoDB in production, SQLite embedded."""

from __future__ import annotations

from pathlib import Path

from mugpos.docstore.base import (
    Collection,
    Document,
    DocumentStore,
    DocumentStoreError,
    DuplicateDocumentError,
)

__all__ = [
    "Collection",
    "Document",
    "DocumentStore",
    "DocumentStoreError",
    "DuplicateDocumentError",
    "open_document_store",
]


def open_document_store(uri: str | Path, *, database: str | None = None) -> DocumentStore:
    """Open a store from a URI.

    ``mongodb://...`` / ``mongodb+srv://...`` → MongoDB (database from the URI path, else
    ``database``, else ``mugpos``); ``sqlite:///relative.db``, ``sqlite:////abs.db``,
    ``sqlite:///:memory:``, ``:memory:`` or a plain path → SQLite.
    """
    text = str(uri)
    if text.startswith(("mongodb://", "mongodb+srv://")):
        from mugpos.docstore.mongo import MongoDocumentStore

        return MongoDocumentStore(text, database)
    from mugpos.docstore.sqlite import SqliteDocumentStore

    if text.startswith("sqlite:///"):
        return SqliteDocumentStore(text[len("sqlite:///") :] or ":memory:")
    if "://" in text:
        raise DocumentStoreError(
            f"unsupported document store URI scheme in {text.split('://')[0]}://...",
            details={"supported": ["mongodb://", "mongodb+srv://", "sqlite:///"]},
        )
    return SqliteDocumentStore(text)
