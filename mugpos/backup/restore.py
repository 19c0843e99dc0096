"""Verified restore: download and check everything first, then swap it into place.

1. **Stage**: every object the manifest names is downloaded into a staging directory *next to*
   its target (same filesystem, so the swap is a rename) and its sha256 and size are checked
   against the manifest. All problems are collected, so one report names every missing or
   corrupted file. Any problem: the staging areas are deleted and nothing live was touched.
2. **Prepare**: the SQLite document store is rebuilt from the JSON-lines export in staging.
3. **Commit**: MongoDB targets (documents, Atlas vectors) are imported first, since they are the
   ones that can fail on the network; then each directory (or SQLite file) is renamed aside and
   its staged replacement renamed in. A failing rename rolls back the ones already done.

Run it with the API and Dagster stopped: processes holding the old files keep reading them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mugpos.backup.atlas import import_atlas
from mugpos.backup.catalog import load_manifest
from mugpos.backup.documents import build_sqlite, import_into
from mugpos.backup.manifest import BackupEntry, BackupError, BackupManifest, object_key
from mugpos.backup.sources import FAMILIES, BackupRoots, family_of, is_mongo, sqlite_path
from mugpos.errors import ObjectStoreError
from mugpos.fileio import sha256_file
from mugpos.objectstore.base import ObjectIntegrityError, ObjectNotFoundError, ObjectStore

SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


class RestoreError(BackupError):
    """The backup cannot be restored as is; nothing was changed."""

    code = "restore_failed"


@dataclass
class RestoreReport:
    manifest: str
    families: dict[str, int] = field(default_factory=dict)  # family → files restored
    bytes: int = 0
    targets: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    verified_only: bool = False


@dataclass
class _Target:
    """One family's destination and its staging area."""

    family: str
    backend: str  # files | local (index dir) | sqlite | mongodb | atlas
    location: str  # the live directory, SQLite file or MongoDB URI
    stage: Path
    entries: list[BackupEntry] = field(default_factory=list)

    @property
    def swaps_files(self) -> bool:
        return self.backend in ("files", "local", "sqlite")

    def dest(self, entry: BackupEntry) -> Path:
        if self.backend in ("files", "local"):  # models/a/b → <stage>/a/b
            return self.stage / entry.path.split("/", 1)[1]
        return self.stage / entry.path

    def exports(self) -> dict[str, Path]:
        return {Path(e.path).stem: self.dest(e) for e in self.entries}


def _staging_beside(live: Path, token: str) -> Path:
    live.parent.mkdir(parents=True, exist_ok=True)
    return live.parent / f".{live.name}.restore-{token}"


def _plan(
    manifest: BackupManifest, roots: BackupRoots, families: Iterable[str], token: str
) -> list[_Target]:
    targets: dict[str, _Target] = {}
    for family in families:
        info = manifest.families.get(family)
        if info is None:
            raise RestoreError(f"the backup has no {family!r} family")
        if not info.present:
            continue  # there was nothing to back up: leave the live state alone
        if family == "index":
            configured = "atlas" if is_mongo(roots.index) else "local"
            if info.backend != configured:
                raise RestoreError(
                    f"the backup holds a {info.backend} vector index but the configured one is "
                    f"{configured} (MUGPOS_VECTOR_INDEX_URI): restore it with a matching "
                    "configuration, or leave the index out (--only)"
                )
        if family == "documents" and is_mongo(roots.documents):
            target = _Target(family, "mongodb", roots.documents, roots.home / f".restore-{token}")
        elif family == "documents":
            live = sqlite_path(roots.documents)
            target = _Target(family, "sqlite", str(live), _staging_beside(live, token))
        elif family == "index" and is_mongo(roots.index):
            target = _Target(family, "atlas", roots.index, roots.home / f".restore-{token}")
        else:
            live = roots.directory(family)
            backend = "local" if family == "index" else "files"
            target = _Target(family, backend, str(live), _staging_beside(live, token))
        targets[family] = target
    for entry in manifest.entries:
        family = family_of(entry.path)
        if family is None:
            raise RestoreError(f"manifest entry {entry.path!r} belongs to no known family")
        if family in targets:
            targets[family].entries.append(entry)
    return list(targets.values())


def _fetch(store: ObjectStore, entry: BackupEntry, dest: Path) -> str | None:
    """Download and check one object; the problem in words, or None when it is good."""
    key = object_key(entry.sha256)
    try:
        store.download_file(key, dest)
    except ObjectNotFoundError:
        return f"missing: {entry.path} ({store.location_of(key)})"
    except ObjectIntegrityError:
        return f"corrupted: {entry.path} ({store.location_of(key)})"
    except ObjectStoreError as exc:
        return f"unreadable: {entry.path} ({exc.message})"
    size, digest = dest.stat().st_size, sha256_file(dest)
    if size != entry.size or digest != entry.sha256:
        dest.unlink(missing_ok=True)
        return (
            f"corrupted: {entry.path} ({store.location_of(key)} has {size} bytes, sha256 "
            f"{digest}; the manifest says {entry.size} bytes, {entry.sha256})"
        )
    return None


def _stage(store: ObjectStore, targets: list[_Target], concurrency: int) -> list[str]:
    """Download every object once (duplicates are copied); returns the problems found."""
    first: dict[str, Path] = {}
    unique: list[tuple[BackupEntry, Path]] = []
    copies: list[tuple[Path, Path]] = []
    for target in targets:
        target.stage.mkdir(parents=True, exist_ok=True)
        for entry in target.entries:
            dest = target.dest(entry)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if entry.sha256 in first:
                copies.append((first[entry.sha256], dest))
            else:
                first[entry.sha256] = dest
                unique.append((entry, dest))
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="restore") as pool:
        problems = [p for p in pool.map(lambda ed: _fetch(store, *ed), unique) if p]
    if not problems:
        for src, dest in copies:
            shutil.copyfile(src, dest)
    return sorted(problems)


def _swap_in(target: _Target, token: str) -> Callable[[], None]:
    """Rename the live state aside and the staged state in; returns the undo. A failure half
    way through this target's renames puts back what it had moved before raising."""
    live = Path(target.location)
    old = live.parent / f".{live.name}.old-{token}"
    if target.backend == "sqlite":  # the database and its WAL/journal files move together
        staged = target.stage / "db" / live.name
        old.mkdir()
        moves = [(p, old / p.name) for s in SQLITE_COMPANIONS if (p := Path(f"{live}{s}")).exists()]
    else:
        staged = target.stage
        moves = [(live, old)] if live.exists() else []
    done: list[tuple[Path, Path]] = []

    def put_back() -> None:
        for src, dst in reversed(done):
            os.rename(dst, src)

    try:
        for src, dst in moves:
            os.rename(src, dst)
            done.append((src, dst))
        os.rename(staged, live)
    except BaseException:
        put_back()
        raise

    def undo() -> None:
        os.rename(live, staged)
        put_back()

    return undo


def _cleanup(targets: list[_Target], token: str) -> None:
    for target in targets:
        shutil.rmtree(target.stage, ignore_errors=True)
        if target.swaps_files:
            live = Path(target.location)
            shutil.rmtree(live.parent / f".{live.name}.old-{token}", ignore_errors=True)


def restore_backup(
    store: ObjectStore,
    roots: BackupRoots,
    *,
    manifest: str | None = None,
    families: Iterable[str] | None = None,
    concurrency: int = 4,
    verify_only: bool = False,
) -> RestoreReport:
    """Restore the newest backup (or ``manifest``) into the configured locations.

    ``families`` limits it (default: every family in the backup); ``verify_only`` downloads and
    checks everything, then discards it. Raises :class:`RestoreError` naming every missing or
    corrupted object, with the live state untouched.
    """
    key, m = load_manifest(store, manifest)
    chosen = list(families) if families is not None else [f for f in FAMILIES if f in m.families]
    unknown = [f for f in chosen if f not in FAMILIES]
    if unknown:
        raise RestoreError(f"unknown families {unknown}; families: {', '.join(FAMILIES)}")
    token = uuid.uuid4().hex[:12]
    targets = _plan(m, roots, chosen, token)
    report = RestoreReport(manifest=key, verified_only=verify_only)
    try:
        problems = _stage(store, targets, concurrency)
        if problems:
            raise RestoreError(
                f"restore of {key} aborted, nothing was changed: {len(problems)} object(s) "
                "failed verification:\n  " + "\n  ".join(problems),
                details={"manifest": key, "problems": problems},
            )
        for t in targets:
            report.families[t.family] = len(t.entries)
            report.bytes += sum(e.size for e in t.entries)
            report.targets[t.family] = t.location if t.swaps_files else t.backend
        if verify_only:
            return report
        for t in targets:
            if t.backend == "sqlite":
                build_sqlite(t.exports(), t.stage / "db" / Path(t.location).name)
        for t in targets:  # network imports first: they are the likeliest to fail
            if t.backend == "mongodb":
                import_into(t.exports(), t.location)
            elif t.backend == "atlas":
                (export,) = t.exports().values()
                report.warnings += import_atlas(export, t.location)
        undo: list[Callable[[], None]] = []
        try:
            for t in targets:
                if t.swaps_files:
                    undo.append(_swap_in(t, token))
        except BaseException:
            for step in reversed(undo):
                step()
            raise
    finally:
        _cleanup(targets, token)
    return report
