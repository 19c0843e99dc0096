"""Retention: keep the newest N manifests; delete only objects that no remaining manifest names.

Old manifests go first, objects after: a crash in between leaves unreferenced objects (removed
next time), never a manifest naming a deleted object. Objects younger than ``grace_s`` survive
even when unreferenced: a backup that is still uploading has not written its manifest yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from mugpos.backup.catalog import manifest_keys, read_manifest
from mugpos.backup.manifest import OBJECTS, BackupError, sha_of_object_key
from mugpos.objectstore.base import ObjectStore


@dataclass
class RetentionResult:
    kept: list[str] = field(default_factory=list)
    deleted_manifests: list[str] = field(default_factory=list)
    deleted_objects: int = 0
    freed_bytes: int = 0
    spared_young: int = 0


def referenced_shas(store: ObjectStore, keys: list[str]) -> set[str]:
    """Objects the manifests name; an unreadable manifest stops retention (it may need any)."""
    shas: set[str] = set()
    for key in keys:
        shas |= read_manifest(store, key).shas()
    return shas


def apply_retention(
    store: ObjectStore, keep: int, *, grace_s: float = 0.0, now: datetime | None = None
) -> RetentionResult:
    if keep < 1:
        raise BackupError("retention must keep at least one manifest")
    keys = manifest_keys(store)
    result = RetentionResult(kept=keys[-keep:])
    referenced = referenced_shas(store, result.kept)
    for key in keys[:-keep]:
        store.delete(key)
        result.deleted_manifests.append(key)
    # A backup may have finished meanwhile: its manifest protects what it names too.
    referenced |= referenced_shas(store, [k for k in manifest_keys(store) if k not in keys])
    now = now or datetime.now(UTC)
    for info in store.list(OBJECTS):
        sha = sha_of_object_key(info.key)
        if sha is None or sha in referenced:
            continue
        if grace_s > 0 and info.modified and (now - info.modified).total_seconds() < grace_s:
            result.spared_young += 1
            continue
        store.delete(info.key)
        result.deleted_objects += 1
        result.freed_bytes += info.size
    return result
