"""The backup manifest: what one backup holds, written last so it only ever names stored objects.

Bucket layout (content-addressed, so an unchanged file is never uploaded twice and retention is a
set difference)::

    objects/<sha256[:2]>/<sha256>          the bytes of every backed-up file
    manifests/<UTC time>-<run id>.json     one per backup; names sort by time

Each entry maps a path relative to MUGPOS_HOME (``models/…``, ``embeddings/…``, ``index/…``,
``evaluation/…``) or an export (``documents/<collection>.jsonl``, ``atlas/<db>.<coll>.jsonl``) to
the object holding its bytes.
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from mugpos.errors import MugposError

FORMAT = "mugpos.backup"
SCHEMA_VERSION = 1
OBJECTS = "objects/"
MANIFESTS = "manifests/"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_RUN_ID = re.compile(r"[^A-Za-z0-9_.-]+")


class BackupError(MugposError):
    """A backup, its verification or a restore failed; ``details`` lists what and where."""

    code = "backup_error"


class BackupEntry(BaseModel):
    path: str = Field(description="Relative to MUGPOS_HOME, or an export (documents/, atlas/).")
    sha256: str
    size: int
    asset: str = Field(description="The backup asset that stored it (backup_models, ...).")
    source: str = Field(description="The asset (or service) that produced the file.")

    @field_validator("path")
    @classmethod
    def _relative(cls, path: str) -> str:
        # Restore writes here: a manifest from the bucket must not reach outside the targets.
        parts = path.split("/")
        if len(parts) < 2 or any(p in ("", ".", "..") for p in parts) or "\\" in path:
            raise ValueError(f"backup path {path!r} is not a clean relative path")
        return path

    @field_validator("sha256")
    @classmethod
    def _hex(cls, sha256: str) -> str:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return sha256


class FamilyInfo(BaseModel):
    """One backup asset's part of the manifest."""

    asset: str
    run_id: str
    created_at: str
    present: bool = Field(description="False when the source did not exist: restore skips it.")
    backend: str = Field(default="files", description="files | sqlite | mongodb | local | atlas")
    objects: int = 0
    bytes: int = 0


class BackupManifest(BaseModel):
    format: Literal["mugpos.backup"] = FORMAT
    schema_version: int = SCHEMA_VERSION
    created_at: str
    run_id: str
    code_version: str
    families: dict[str, FamilyInfo]
    entries: list[BackupEntry]

    def shas(self) -> set[str]:
        return {e.sha256 for e in self.entries}

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries)


def object_key(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise BackupError(f"not a sha256: {sha256!r}")
    return f"{OBJECTS}{sha256[:2]}/{sha256}"


def sha_of_object_key(key: str) -> str | None:
    name = key.rsplit("/", 1)[-1]
    return name if key.startswith(OBJECTS) and _SHA256.match(name) else None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def manifest_key(run_id: str, when: datetime | None = None) -> str:
    """``manifests/20260101T040000.123456Z-<run id>.json``: lexical order is time order."""
    stamp = (when or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{MANIFESTS}{stamp}-{_RUN_ID.sub('_', run_id)[:64]}.json"


@lru_cache(maxsize=1)
def code_version() -> str:
    """``mugpos <version>`` plus the git commit when the code runs from a checkout."""
    from mugpos import __version__

    version = f"mugpos {__version__}"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607 - git from PATH on purpose
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version}+g{commit}" if commit else version
