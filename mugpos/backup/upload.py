"""Uploading snapshotted files as content-addressed objects, skipping what is already stored."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass

from mugpos.backup.manifest import OBJECTS, BackupError, object_key, sha_of_object_key
from mugpos.backup.snapshot import LocalFile
from mugpos.errors import ObjectStoreError
from mugpos.objectstore.base import ObjectStore


@dataclass(frozen=True)
class UploadStats:
    uploaded: int = 0
    skipped: int = 0
    bytes_uploaded: int = 0
    bytes_skipped: int = 0


def stored_objects(store: ObjectStore) -> dict[str, int]:
    """sha256 → size of every object in the store (one listing, not a HEAD per object)."""
    out = {}
    for info in store.list(OBJECTS):
        sha = sha_of_object_key(info.key)
        if sha is not None:
            out[sha] = info.size
    return out


def upload_files(
    store: ObjectStore,
    files: Iterable[LocalFile],
    *,
    concurrency: int = 4,
    stored: dict[str, int] | None = None,
) -> UploadStats:
    """Store each distinct content once. An object already there with the right size is kept
    (its name is its sha256); one with another size (a torn upload elsewhere) is replaced.
    The first failure cancels what has not started and raises :class:`BackupError`."""
    stored = stored_objects(store) if stored is None else stored
    todo: dict[str, LocalFile] = {}
    seen: set[str] = set()
    skipped, bytes_skipped = 0, 0
    for f in files:
        if f.sha256 in seen:  # counts are of distinct contents, like the objects
            continue
        seen.add(f.sha256)
        if stored.get(f.sha256) == f.size:
            skipped += 1
            bytes_skipped += f.size
        else:
            todo[f.sha256] = f
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="backup-up") as pool:
        futures = {
            pool.submit(store.upload_file, f.file, object_key(sha), sha256=sha): f
            for sha, f in todo.items()
        }
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for fut in pending:
            fut.cancel()
    failed = [(futures[f], f.exception()) for f in done if f.exception() is not None]
    if failed:
        first_file, first_exc = failed[0]
        reason = first_exc.message if isinstance(first_exc, ObjectStoreError) else str(first_exc)
        raise BackupError(
            f"uploading {first_file.path} to {store.describe()} failed: {reason}",
            details={"failed": [f.path for f, _ in failed], "store": store.describe()},
        ) from first_exc
    stored.update({sha: f.size for sha, f in todo.items()})
    return UploadStats(
        uploaded=len(todo),
        skipped=skipped,
        bytes_uploaded=sum(f.size for f in todo.values()),
        bytes_skipped=bytes_skipped,
    )
