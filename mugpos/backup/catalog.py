"""Finding and reading the manifests in a backup store."""

from __future__ import annotations

import json

from pydantic import ValidationError

from mugpos.backup.manifest import MANIFESTS, BackupError, BackupManifest
from mugpos.errors import ObjectStoreError
from mugpos.objectstore.base import ObjectStore


def manifest_keys(store: ObjectStore) -> list[str]:
    """Every manifest key, oldest first (their names start with the UTC time)."""
    return sorted(o.key for o in store.list(MANIFESTS) if o.key.endswith(".json"))


def resolve_manifest_key(store: ObjectStore, ref: str | None = None) -> str:
    """The newest manifest, or the one ``ref`` names: its key, file name, stem or run id."""
    keys = manifest_keys(store)
    if not keys:
        raise BackupError(f"no backup manifests in {store.describe()}")
    if ref is None:
        return keys[-1]
    exact = [k for k in keys if ref in (k, k[len(MANIFESTS) :], k[len(MANIFESTS) : -5])]
    matches = exact or [k for k in keys if ref in k[len(MANIFESTS) :]]
    if len(matches) != 1:
        found = "none" if not matches else ", ".join(matches[:5])
        raise BackupError(
            f"manifest {ref!r} does not name exactly one backup in {store.describe()} "
            f"(matches: {found})"
        )
    return matches[0]


def read_manifest(store: ObjectStore, key: str) -> BackupManifest:
    """Read and validate one manifest (its bytes are checked against their recorded sha256)."""
    try:
        return BackupManifest.model_validate(json.loads(store.get_bytes(key)))
    except ObjectStoreError as exc:
        raise BackupError(f"cannot read manifest {key}: {exc.message}") from exc
    except (ValueError, ValidationError) as exc:
        raise BackupError(f"manifest {store.location_of(key)} is not valid: {exc}") from exc


def load_manifest(store: ObjectStore, ref: str | None = None) -> tuple[str, BackupManifest]:
    key = resolve_manifest_key(store, ref)
    return key, read_manifest(store, key)
