"""Derived model files (ONNX exports) that passed their check, and only those, get served.

An export is written to a staging folder, checked there (parity against its reference
library), and only then published: renamed into the exports folder, with a record beside it
(``<name>.verified.json``: its sha256, size and the check's figures). Readers (the loader, the
manifest) serve a derived file only when its record exists and its bytes still hash to the
recorded sha256, so a file copied in by hand, left by an export whose check failed, or changed
after the check is never served.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from mugpos.fileio import atomic_write_bytes, sha256_file

RECORD_SUFFIX = ".verified.json"
STAGING_PREFIX = ".staging-"


class VerifiedRecord(BaseModel):
    sha256: str
    size: int
    verified_at: str
    check: dict[str, Any]


class CheckReport(Protocol):
    """What a check returns (e.g. :class:`mugpos.models.parity.ParityReport`)."""

    passed: bool

    def as_metadata(self) -> Mapping[str, Any]: ...


def record_path(path: Path) -> Path:
    return path.with_name(path.name + RECORD_SUFFIX)


def verified_sha256(path: Path) -> str | None:
    """The file's sha256 when its record says it passed its check and it still matches."""
    record = record_path(path)
    if not (path.is_file() and record.is_file()):
        return None
    try:
        expected = VerifiedRecord.model_validate_json(record.read_bytes()).sha256
    except (OSError, ValidationError):
        return None
    actual = sha256_file(path)
    return actual if actual == expected else None


def is_verified(path: Path) -> bool:
    return verified_sha256(path) is not None


def publish(staged: Path, dest: Path, check: Mapping[str, Any]) -> Path:
    """Move a checked file into place, then write its record (a crash between the two leaves
    a file without a record: not served)."""
    sha, size = sha256_file(staged), staged.stat().st_size
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, dest)
    record = VerifiedRecord(
        sha256=sha,
        size=size,
        verified_at=datetime.now(UTC).isoformat(timespec="seconds"),
        check={k: v for k, v in check.items() if isinstance(v, str | int | float | bool)},
    )
    atomic_write_bytes(record_path(dest), record.model_dump_json(indent=2).encode())
    return dest


def export_checked(
    dest_dir: Path, export: Callable[[Path], tuple[dict[str, Path], CheckReport]]
) -> tuple[dict[str, Path], CheckReport]:
    """Run ``export(staging_dir)`` (it writes its files there and checks them), and publish
    every file it wrote into ``dest_dir`` only when the check passed.

    On failure nothing in ``dest_dir`` changes (the previous published files, if any, stay
    served) and the returned paths are the staged ones, already removed.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest_dir, prefix=STAGING_PREFIX))
    try:
        files, report = export(staging)
        if not report.passed:
            return files, report
        check = dict(report.as_metadata())
        written = sorted(p for p in staging.rglob("*") if p.is_file())
        published = {p: publish(p, dest_dir / p.relative_to(staging), check) for p in written}
        return {name: published.get(p, p) for name, p in files.items()}, report
    finally:
        shutil.rmtree(staging, ignore_errors=True)
