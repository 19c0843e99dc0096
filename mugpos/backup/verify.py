"""Read-back verification of a stored backup: every object listed, a sample re-hashed."""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mugpos.backup.catalog import load_manifest
from mugpos.backup.manifest import object_key
from mugpos.backup.upload import stored_objects
from mugpos.fileio import sha256_file
from mugpos.objectstore.base import ObjectIntegrityError, ObjectNotFoundError, ObjectStore


@dataclass
class VerifyResult:
    manifest: str
    objects: int
    checked: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.missing and not self.corrupt


def verify_backup(
    store: ObjectStore,
    ref: str | None = None,
    *,
    sample: int | None = None,
    seed: int | None = None,
) -> VerifyResult:
    """Check that every object the manifest names is stored with its size, then download
    ``sample`` of them (all when ``None``) and compare their sha256 with the manifest's."""
    key, manifest = load_manifest(store, ref)
    stored = stored_objects(store)
    paths: dict[str, tuple[str, int]] = {}  # sha → (first path naming it, size)
    for e in manifest.entries:
        paths.setdefault(e.sha256, (e.path, e.size))
    result = VerifyResult(manifest=key, objects=len(paths))
    result.missing = sorted(p for sha, (p, _size) in paths.items() if sha not in stored)
    # Listed with another size: torn or overwritten, no need to download it to know.
    result.corrupt = sorted(
        p for sha, (p, size) in paths.items() if sha in stored and stored[sha] != size
    )
    present = sorted(sha for sha, (_p, size) in paths.items() if stored.get(sha) == size)
    n = len(present) if sample is None else min(sample, len(present))
    with tempfile.TemporaryDirectory(prefix="mugpos-verify-") as tmp:
        for sha in random.Random(seed).sample(present, n):
            path = paths[sha][0]
            dest = Path(tmp) / sha
            result.checked.append(path)
            try:
                store.download_file(object_key(sha), dest)
                if sha256_file(dest) != sha:
                    result.corrupt.append(path)
            except ObjectNotFoundError:  # deleted since the listing
                result.missing.append(path)
            except ObjectIntegrityError:  # the bytes disagree with their recorded sha256
                result.corrupt.append(path)
            finally:
                dest.unlink(missing_ok=True)
    return result
