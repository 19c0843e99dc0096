"""The document-store interface: named collections of JSON documents keyed by ``_id``.

Small on purpose (insert, get, replace, compare-and-swap, delete, find by equality, count): that
is what rules, analyses, feedback and the webhook outbox need, and what both MongoDB and an
embedded SQLite file do well. Documents
must be plain JSON (str keys without ``$`` or ``.``, no NaN), so both backends return exactly
what was stored.
"""

from __future__ import annotations

import abc
import json
import math
import re
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from mugpos.errors import MugposError

Document = dict[str, Any]
Scalar = str | int | float | bool | None
Filter = Mapping[str, Scalar]
Sort = Sequence[tuple[str, int]]

COLLECTION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
FIELD_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class DocumentStoreError(MugposError):
    """The store failed (unreachable, bad document, bad query)."""

    code = "document_store_error"


class DuplicateDocumentError(DocumentStoreError):
    """A document with this ``_id`` already exists in the collection."""

    code = "duplicate_document"


def check_name(name: str) -> str:
    if not COLLECTION_NAME.match(name):
        raise DocumentStoreError(f"invalid collection name {name!r} (a-z, 0-9, _; 64 at most)")
    return name


def check_field(path: str) -> str:
    if not FIELD_PATH.match(path):
        raise DocumentStoreError(f"invalid field path {path!r}")
    return path


def _check_value(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str) or k.startswith("$") or "." in k:
                raise DocumentStoreError(f"invalid key {k!r} at {where} (no '$' prefix, no '.')")
            _check_value(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_value(v, f"{where}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise DocumentStoreError(f"non-finite number at {where}")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        raise DocumentStoreError(f"integer out of 64-bit range at {where}")
    elif not isinstance(value, str | int | float | bool | type(None)):
        raise DocumentStoreError(f"{type(value).__name__} at {where} is not JSON")


def check_document(doc: Mapping[str, Any]) -> Document:
    """A JSON-only copy of ``doc`` with a string ``_id``; raises :class:`DocumentStoreError`."""
    if not isinstance(doc.get("_id"), str) or not doc["_id"]:
        raise DocumentStoreError("a document needs a non-empty string '_id'")
    _check_value(dict(doc), "$")
    return json.loads(json.dumps(doc))


def check_filter(flt: Filter | None) -> dict[str, Scalar]:
    out: dict[str, Scalar] = {}
    for k, v in (flt or {}).items():
        check_field(k)
        if not isinstance(v, str | int | float | bool | type(None)):
            raise DocumentStoreError(f"filter on {k!r}: only equality with a scalar is supported")
        out[k] = v
    return out


class Collection(abc.ABC):
    """One named collection."""

    name: str

    @abc.abstractmethod
    def insert(self, doc: Mapping[str, Any]) -> str:
        """Add a document; raises :class:`DuplicateDocumentError` if its ``_id`` exists."""

    @abc.abstractmethod
    def get(self, doc_id: str) -> Document | None: ...

    @abc.abstractmethod
    def replace(self, doc: Mapping[str, Any]) -> None:
        """Write the document under its ``_id``, creating it if needed."""

    @abc.abstractmethod
    def replace_if(self, doc: Mapping[str, Any], expected: Filter) -> bool:
        """Write the document over the stored one only if that one still matches ``expected``
        (equality on fields, as in :meth:`find`); ``False`` when it does not, or is absent.

        A compare-and-swap: leases and claims held by several processes (the webhook outbox)
        need it, since a read followed by a write would let two writers both win.
        """

    @abc.abstractmethod
    def delete(self, doc_id: str) -> bool:
        """Remove one document; ``False`` if there was none."""

    @abc.abstractmethod
    def find(
        self, flt: Filter | None = None, *, sort: Sort = (), limit: int | None = None
    ) -> list[Document]:
        """Documents whose fields equal ``flt``'s (dotted paths allowed), sorted by ``sort``
        (``(field, 1 | -1)`` pairs) and then by ``_id``."""

    @abc.abstractmethod
    def count(self, flt: Filter | None = None) -> int: ...

    @abc.abstractmethod
    def delete_many(self, flt: Filter | None = None) -> int: ...


class DocumentStore(abc.ABC):
    """A set of collections; use as a context manager or call :meth:`close`."""

    @abc.abstractmethod
    def collection(self, name: str) -> Collection: ...

    @abc.abstractmethod
    def describe(self) -> str:
        """Where the data lives, without credentials."""

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release connections."""

    def __enter__(self) -> DocumentStore:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
