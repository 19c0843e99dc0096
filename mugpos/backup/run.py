"""Running a backup: snapshot each family, upload what is new, then write the manifest last.

The Dagster assets call :func:`backup_family` once per family and :func:`write_manifest` at the
end; :func:`run_backup` does the same in one call for the CLI and tests.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mugpos.backup.atlas import export_atlas
from mugpos.backup.documents import export_documents
from mugpos.backup.manifest import (
    BackupEntry,
    BackupError,
    BackupManifest,
    FamilyInfo,
    code_version,
    manifest_key,
    now_iso,
)
from mugpos.backup.retention import RetentionResult, apply_retention
from mugpos.backup.snapshot import Snapshot, snapshot_local_index, snapshot_tree
from mugpos.backup.sources import FAMILIES, BackupRoots, asset_name, is_mongo
from mugpos.backup.upload import UploadStats, stored_objects, upload_files
from mugpos.objectstore.base import ObjectStore

STAGING = ".backup-staging"


@dataclass
class FamilyResult:
    """What one family's backup stored: its manifest part, plus upload statistics."""

    info: FamilyInfo
    entries: list[BackupEntry]
    stats: UploadStats

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, so a Dagster IO manager can pass it to the manifest asset."""
        return {
            "info": self.info.model_dump(),
            "entries": [e.model_dump() for e in self.entries],
            "stats": vars(self.stats),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FamilyResult:
        return cls(
            FamilyInfo.model_validate(data["info"]),
            [BackupEntry.model_validate(e) for e in data["entries"]],
            UploadStats(**data["stats"]),
        )


def _snapshot(family: str, roots: BackupRoots, staging: Path) -> Snapshot:
    if family == "index":
        if is_mongo(roots.index):
            return export_atlas(roots.index, staging)
        return snapshot_local_index(Path(roots.index), staging)
    if family == "documents":
        return export_documents(roots.documents, staging)
    if family in ("models", "embeddings", "evaluation"):
        return snapshot_tree(family, roots.directory(family), family, staging)
    raise BackupError(f"unknown backup family {family!r}; families: {', '.join(FAMILIES)}")


def backup_family(
    family: str,
    roots: BackupRoots,
    store: ObjectStore,
    *,
    run_id: str,
    concurrency: int = 4,
    stored: dict[str, int] | None = None,
) -> FamilyResult:
    """Snapshot one family into a staging directory under MUGPOS_HOME, upload what the store
    lacks, and return the entries for the manifest. The staging directory is always removed."""
    staging = roots.home / STAGING / f"{family}-{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    try:
        snap = _snapshot(family, roots, staging)
        stats = upload_files(store, snap.files, concurrency=concurrency, stored=stored)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):  # still in use by another family: it removes it
            staging.parent.rmdir()
    asset = asset_name(family)
    entries = [
        BackupEntry(path=f.path, sha256=f.sha256, size=f.size, asset=asset, source=f.source)
        for f in snap.files
    ]
    info = FamilyInfo(
        asset=asset,
        run_id=run_id,
        created_at=now_iso(),
        present=snap.present,
        backend=snap.backend,
        objects=len(entries),
        bytes=sum(e.size for e in entries),
    )
    return FamilyResult(info, entries, stats)


def write_manifest(
    store: ObjectStore,
    results: Iterable[FamilyResult],
    *,
    run_id: str,
    version: str | None = None,
) -> tuple[str, BackupManifest]:
    """Write the manifest, after checking (one listing) that every object it names is stored."""
    results = list(results)
    entries = [e for r in results for e in r.entries]
    seen: set[str] = set()
    for e in entries:
        if e.path in seen:
            raise BackupError(f"two backup entries for {e.path}")
        seen.add(e.path)
    stored = stored_objects(store)
    missing = sorted(e.path for e in entries if stored.get(e.sha256) != e.size)
    if missing:
        raise BackupError(
            f"not writing the manifest: {len(missing)} object(s) it would name are not stored "
            f"in {store.describe()}: {', '.join(missing[:10])}",
            details={"missing": missing},
        )
    manifest = BackupManifest(
        created_at=now_iso(),
        run_id=run_id,
        code_version=version or code_version(),
        families={r.info.asset.removeprefix("backup_"): r.info for r in results},
        entries=entries,
    )
    key = manifest_key(run_id)
    body = json.dumps(manifest.model_dump(), indent=1, sort_keys=True).encode()
    store.put_bytes(key, body)
    return key, manifest


@dataclass
class BackupReport:
    manifest_key: str
    manifest: BackupManifest
    families: list[FamilyResult]
    retention: RetentionResult | None

    @property
    def uploaded(self) -> int:
        return sum(r.stats.uploaded for r in self.families)

    @property
    def skipped(self) -> int:
        return sum(r.stats.skipped for r in self.families)


def run_backup(
    roots: BackupRoots,
    store: ObjectStore,
    *,
    run_id: str | None = None,
    families: Sequence[str] = FAMILIES,
    concurrency: int = 4,
    keep: int | None = None,
    grace_s: float = 0.0,
    log: Callable[[str], None] | None = None,
) -> BackupReport:
    """Every family, then the manifest, then retention (when ``keep`` is given)."""
    run_id = run_id or f"cli-{uuid.uuid4().hex[:12]}"
    stored = stored_objects(store)
    results = []
    for family in families:
        result = backup_family(
            family, roots, store, run_id=run_id, concurrency=concurrency, stored=stored
        )
        if log:
            s = result.stats
            log(f"{family}: {result.info.objects} files, {s.uploaded} uploaded, {s.skipped} kept")
        results.append(result)
    key, manifest = write_manifest(store, results, run_id=run_id)
    retention = apply_retention(store, keep, grace_s=grace_s) if keep else None
    return BackupReport(key, manifest, results, retention)
