"""A directory as an object store: the embedded default, and a mirror on a shared disk.

Checksums live in a sidecar tree, ``<root>/.mugpos-sha256/<key>``, outside the key namespace so
listings stay what users put there. Files dropped in by hand have no sidecar and are read
unchecked. A write removes the old sidecar first, then renames the object into place, then
writes the new sidecar: a crash in between leaves an unchecked object, never a false alarm.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from mugpos.errors import ObjectStoreError
from mugpos.fileio import PARTIAL_MARK, atomic_write_bytes, partial_path
from mugpos.objectstore.base import (
    ObjectInfo,
    ObjectNotFoundError,
    ObjectStore,
    check_digest,
    sha256_bytes,
)

SIDECAR_DIR = ".mugpos-sha256"
_CHUNK = 1 << 20


def _copy_hashing(src: Path, dest: Path) -> str:
    """Copy ``src`` to ``dest`` (a temporary name) and return the sha256 of what was copied."""
    h = hashlib.sha256()
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        while block := fin.read(_CHUNK):
            h.update(block)
            fout.write(block)
        fout.flush()
        os.fsync(fout.fileno())
    return h.hexdigest()


class LocalObjectStore(ObjectStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        clean = Path(key)
        if clean.is_absolute() or ".." in clean.parts or not clean.parts:
            raise ObjectStoreError(f"invalid object key {key!r}")
        if clean.parts[0] == SIDECAR_DIR:
            raise ObjectStoreError(f"invalid object key {key!r}: {SIDECAR_DIR} is reserved")
        return self.root / clean

    def _sidecar(self, key: str) -> Path:
        return self.root / SIDECAR_DIR / key

    def _recorded(self, key: str) -> str | None:
        try:
            return self._sidecar(key).read_text().strip() or None
        except (FileNotFoundError, NotADirectoryError):
            return None

    def _missing(self, key: str) -> ObjectNotFoundError:
        return ObjectNotFoundError(f"object {key} not found in {self.root}", details={"key": key})

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not path.is_file():
            return None
        modified = datetime.fromtimestamp(st.st_mtime, UTC)
        return ObjectInfo(key, st.st_size, self._recorded(key), modified)

    def download_file(self, key: str, dest: Path) -> None:
        src = self._path(key)
        if not src.is_file():
            raise self._missing(key)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = partial_path(dest)
        try:
            actual = _copy_hashing(src, tmp)
            check_digest(self.location_of(key), self._recorded(key), actual)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def _commit(self, tmp: Path, key: str, digest: str) -> None:
        """Move a fully written temporary file into place and record its checksum."""
        self._sidecar(key).unlink(missing_ok=True)
        os.replace(tmp, self._path(key))
        atomic_write_bytes(self._sidecar(key), digest.encode())

    def upload_file(self, src: Path, key: str, *, sha256: str | None = None) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = partial_path(dest)
        try:
            actual = _copy_hashing(Path(src), tmp)
            # Refuse to record a checksum the bytes do not have: it would fail every read.
            check_digest(f"{src} (uploading to {self.location_of(key)})", sha256, actual)
            self._commit(tmp, key, actual)
        finally:
            tmp.unlink(missing_ok=True)

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise self._missing(key)
        data = path.read_bytes()
        check_digest(self.location_of(key), self._recorded(key), sha256_bytes(data))
        return data

    def put_bytes(self, key: str, data: bytes, *, sha256: str | None = None) -> None:
        actual = sha256_bytes(data)
        check_digest(f"data for {self.location_of(key)}", sha256, actual)
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = partial_path(dest)
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            self._commit(tmp, key, actual)
        finally:
            tmp.unlink(missing_ok=True)

    def _recorded_all(self, prefix: str) -> dict[str, str]:
        side = self.root / SIDECAR_DIR
        if not side.is_dir():
            return {}
        out: dict[str, str] = {}
        for dirpath, _dirs, files in os.walk(side):
            for name in files:
                if PARTIAL_MARK in name:
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(side).as_posix()
                if key.startswith(prefix):
                    out[key] = full.read_text().strip()
        return out

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        if not self.root.is_dir():
            return []
        digests = self._recorded_all(prefix)
        out: list[ObjectInfo] = []
        for dirpath, dirs, files in os.walk(self.root):
            if Path(dirpath) == self.root and SIDECAR_DIR in dirs:
                dirs.remove(SIDECAR_DIR)
            for name in files:
                if PARTIAL_MARK in name:
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    st = full.stat()
                    modified = datetime.fromtimestamp(st.st_mtime, UTC)
                    out.append(ObjectInfo(key, st.st_size, digests.get(key), modified))
        return sorted(out, key=lambda o: o.key)

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        side = self._sidecar(key)
        if side.is_dir():
            shutil.rmtree(side)
        else:
            side.unlink(missing_ok=True)
