"""Atomic file writes: a reader never sees a half-written file under its final name."""

from __future__ import annotations

import hashlib
import os
import shutil
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


def remove_partials(directory: Path) -> int:
    """Delete leftovers of interrupted writes; returns how many were removed."""
    if not directory.is_dir():
        return 0
    removed = 0
    for p in directory.iterdir():
        if PARTIAL_MARK in p.name and p.is_file():
            p.unlink(missing_ok=True)
            removed += 1
    return removed
