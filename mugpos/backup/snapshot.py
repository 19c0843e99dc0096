"""Consistent, immutable snapshots of the files to back up, taken into a staging directory.

Files are hard-linked (copied where links are impossible) before they are hashed: the platform
replaces files by renaming new ones into place, so a link keeps the exact bytes that were hashed
even if a writer publishes a new version mid-backup.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from mugpos.backup.manifest import BackupError
from mugpos.backup.sources import source_of
from mugpos.fileio import PARTIAL_MARK, sha256_file

INDEX_SNAPSHOT_TRIES = 5


@dataclass(frozen=True)
class LocalFile:
    """One snapshotted file: its manifest path, the staged copy to upload, and its digest."""

    path: str
    file: Path
    sha256: str
    size: int
    source: str


@dataclass
class Snapshot:
    family: str
    present: bool
    backend: str = "files"
    files: list[LocalFile] = field(default_factory=list)


def link_or_copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:  # another filesystem, or no hard links
        shutil.copy2(src, dest)


def describe(path: str, staged: Path) -> LocalFile:
    return LocalFile(path, staged, sha256_file(staged), staged.stat().st_size, source_of(path))


def _tree_files(src: Path) -> list[Path]:
    out = []
    for dirpath, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if PARTIAL_MARK not in d)
        out += [Path(dirpath) / n for n in sorted(files) if PARTIAL_MARK not in n]
    return out


def snapshot_tree(family: str, src: Path, prefix: str, staging: Path) -> Snapshot:
    """Every file under ``src`` (leftovers of interrupted writes excluded) as ``prefix/<rel>``."""
    if not src.is_dir():
        return Snapshot(family, present=False)
    files = []
    for full in _tree_files(src):
        rel = f"{prefix}/{full.relative_to(src).as_posix()}"
        staged = staging / rel
        try:
            link_or_copy(full, staged)
        except FileNotFoundError:  # removed since the walk: it is no longer part of the state
            continue
        files.append(describe(rel, staged))
    return Snapshot(family, present=True, files=files)


def snapshot_local_index(root: Path, staging: Path, prefix: str = "index") -> Snapshot:
    """The version ``CURRENT`` names, plus ``CURRENT`` itself (see ``vectorindex._persist``).

    ``CURRENT`` is linked first and read from the link, then that version's files are linked.
    A writer may save twice meanwhile and delete the version (it keeps only the previous one):
    then a file is missing, and the snapshot starts again from the newer ``CURRENT``.
    """
    if not (root / "CURRENT").is_file():
        return Snapshot("index", present=root.is_dir(), backend="local")
    for _ in range(INDEX_SNAPSHOT_TRIES):
        target = staging / prefix
        shutil.rmtree(target, ignore_errors=True)
        try:
            link_or_copy(root / "CURRENT", target / "CURRENT")
            version = (target / "CURRENT").read_text().strip()
            vdir = root / version
            names = sorted(p.name for p in vdir.iterdir() if PARTIAL_MARK not in p.name)
            for name in names:
                link_or_copy(vdir / name, target / version / name)
        except FileNotFoundError:
            continue  # the version was cleaned up under us: take the newer one
        files = [describe(f"{prefix}/CURRENT", target / "CURRENT")]
        files += [describe(f"{prefix}/{version}/{n}", target / version / n) for n in names]
        return Snapshot("index", present=True, backend="local", files=files)
    raise BackupError(f"the vector index in {root} kept changing: no consistent snapshot")
