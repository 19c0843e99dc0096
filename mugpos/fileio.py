"""Atomic file writes: a reader never sees a half-written file under its final name."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import time
import uuid
from pathlib import Path

PARTIAL_MARK = ".partial-"


def partial_path(dest: Path) -> Path:
    """A unique temporary name beside ``dest`` (same filesystem, so ``rename`` is atomic)."""
    return dest.with_name(f".{dest.name}{PARTIAL_MARK}{uuid.uuid4().hex[:12]}")


def atomic_write_bytes(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(dest)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def copy_atomic(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(dest)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def remove_stale_partials(dest: Path, older_than_s: float) -> int:
    """Delete ``dest``'s leftovers of interrupted writes that are older than ``older_than_s``.

    A partial file belongs to the writer that is still filling it (names are unique per
    write), so only this destination's partials, and only stale ones, are ever removed: a
    younger one may be another process's download in progress. Returns how many were removed.
    """
    directory = dest.parent
    if not directory.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for p in directory.glob(f".{glob.escape(dest.name)}{PARTIAL_MARK}*"):
        try:
            if p.is_file() and p.stat().st_mtime < cutoff:
                p.unlink()
                removed += 1
        except FileNotFoundError:  # its writer finished or another sweep took it
            continue
    return removed
