"""The object-store interface shared by the local directory and S3-compatible backends.

Every object may carry the sha256 of its bytes, stored beside it when it is written (S3 object
metadata, a sidecar file locally). Reads check it, so a flipped bit in the bucket or on disk is
an :class:`ObjectIntegrityError` naming the key, never silently wrong bytes. Objects written
by others without a checksum (a user's inbox, a hand-filled mirror) are read unchecked.
"""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mugpos.errors import ObjectStoreError

if TYPE_CHECKING:
    from mugpos.settings import Settings


class ObjectNotFoundError(ObjectStoreError):
    """The key does not exist in the store."""

    code = "object_not_found"


class ObjectIntegrityError(ObjectStoreError):
    """The object's bytes do not match the sha256 (or size) recorded for it."""

    code = "object_corrupt"


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    sha256: str | None = None
    # When the object was last written (retention spares young, unreferenced objects).
    modified: datetime | None = None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_digest(where: str, expected: str | None, actual: str) -> None:
    """Raise :class:`ObjectIntegrityError` when a recorded sha256 disagrees with the bytes."""
    if expected and expected != actual:
        raise ObjectIntegrityError(
            f"{where} is corrupted: sha256 {actual}, recorded {expected}",
            details={"location": where, "expected": expected, "actual": actual},
        )


class ObjectStore(abc.ABC):
    """Keys are ``/``-separated relative paths; values are bytes or files."""

    @abc.abstractmethod
    def describe(self) -> str:
        """A human-readable location, used in error messages (``s3://b/p`` or a directory)."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """Size, recorded sha256 and time of one object; ``None`` when it does not exist."""

    @abc.abstractmethod
    def download_file(self, key: str, dest: Path) -> None:
        """Copy the object to ``dest`` atomically, checking its recorded sha256; raise
        :class:`ObjectNotFoundError` if it is missing, :class:`ObjectIntegrityError` if the
        bytes do not match (``dest`` is then left untouched)."""

    @abc.abstractmethod
    def upload_file(self, src: Path, key: str, *, sha256: str | None = None) -> None:
        """Store a file under ``key`` with its sha256 (computed when not given)."""

    @abc.abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The object's bytes, checked against its recorded sha256."""

    @abc.abstractmethod
    def put_bytes(self, key: str, data: bytes, *, sha256: str | None = None) -> None:
        """Store bytes with their sha256 (a given one that does not match is refused)."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Objects whose key starts with ``prefix``, sorted by key."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object (and its recorded checksum); no error if it is absent."""

    def location_of(self, key: str) -> str:
        return f"{self.describe().rstrip('/')}/{key}"


def open_object_store(uri: str, settings: Settings | None = None) -> ObjectStore:
    """``s3://bucket/prefix`` opens S3/R2 with the settings' endpoint and keys; else a directory."""
    if uri.startswith("s3://"):
        from mugpos.objectstore.s3 import S3ObjectStore

        bucket, _, prefix = uri[len("s3://") :].partition("/")
        return S3ObjectStore.from_settings(bucket, prefix, settings)
    from mugpos.objectstore.local import LocalObjectStore

    return LocalObjectStore(Path(uri.removeprefix("file://")))
