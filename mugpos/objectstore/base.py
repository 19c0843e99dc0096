"""The object-store interface shared by the local directory and S3-compatible backends."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mugpos.settings import Settings


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    sha256: str | None = None


class ObjectStore(abc.ABC):
    """Keys are ``/``-separated relative paths; values are bytes or files."""

    @abc.abstractmethod
    def describe(self) -> str:
        """A human-readable location, used in error messages (``s3://b/p`` or a directory)."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def download_file(self, key: str, dest: Path) -> None:
        """Copy the object to ``dest``; raise ``ObjectStoreError`` if it is missing."""

    @abc.abstractmethod
    def upload_file(self, src: Path, key: str, *, sha256: str | None = None) -> None: ...

    @abc.abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abc.abstractmethod
    def put_bytes(self, key: str, data: bytes, *, sha256: str | None = None) -> None: ...

    @abc.abstractmethod
    def list(self, prefix: str = "") -> list[ObjectInfo]: ...

    @abc.abstractmethod
    def delete(self, key: str) -> None: ...

    def location_of(self, key: str) -> str:
        return f"{self.describe().rstrip('/')}/{key}"


def open_object_store(uri: str, settings: Settings | None = None) -> ObjectStore:
    """``s3://bucket/prefix`` opens S3/R2 with the settings' endpoint and keys; else a directory."""
    if uri.startswith("s3://"):
        from mugpos.objectstore.s3 import S3ObjectStore

        bucket, _, prefix = uri[len("s3://") :].partition("/")
        return S3ObjectStore.from_settings(bucket, prefix, settings)
    from mugpos.objectstore.local import LocalObjectStore

    return LocalObjectStore(Path(uri))
