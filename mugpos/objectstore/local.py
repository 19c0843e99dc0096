"""A directory as an object store: the embedded default, and a mirror on a shared disk."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mugpos.errors import ObjectStoreError
from mugpos.fileio import atomic_write_bytes, copy_atomic
from mugpos.objectstore.base import ObjectInfo, ObjectStore


class LocalObjectStore(ObjectStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        clean = Path(key)
        if clean.is_absolute() or ".." in clean.parts:
            raise ObjectStoreError(f"invalid object key {key!r}")
        return self.root / clean

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def download_file(self, key: str, dest: Path) -> None:
        src = self._path(key)
        if not src.is_file():
            raise ObjectStoreError(f"object {key} not found in {self.root}")
        copy_atomic(src, dest)

    def upload_file(self, src: Path, key: str, *, sha256: str | None = None) -> None:
        copy_atomic(Path(src), self._path(key))

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise ObjectStoreError(f"object {key} not found in {self.root}")
        return path.read_bytes()

    def put_bytes(self, key: str, data: bytes, *, sha256: str | None = None) -> None:
        atomic_write_bytes(self._path(key), data)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        if not self.root.is_dir():
            return []
        out: list[ObjectInfo] = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if ".partial-" in name:
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    out.append(ObjectInfo(key=key, size=full.stat().st_size))
        return sorted(out, key=lambda o: o.key)

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
