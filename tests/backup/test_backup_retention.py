"""Retention keeps the newest N manifests and every object they name, nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import MotoS3, build_home

from mugpos.backup import BackupRoots, apply_retention, manifest_keys, run_backup, verify_backup
from mugpos.backup.catalog import read_manifest
from mugpos.backup.upload import stored_objects
from mugpos.objectstore.base import open_object_store
from mugpos.settings import Settings


def test_retention_deletes_only_what_no_kept_manifest_needs(
    tmp_path: Path, moto_s3: MotoS3, bucket: str
) -> None:
    home = tmp_path / "home"
    build_home(home)
    s = moto_s3.settings(home, bucket)
    roots = BackupRoots.from_settings(s)
    store = open_object_store(s.backup_location, s)
    report = home / "evaluation" / "report.json"
    runs = []
    for i in range(4):  # each backup changes one file; everything else is shared by all four
        report.write_text(f'{{"map50": 0.{60 + i}}}')
        runs.append(run_backup(roots, store, run_id=f"r{i}"))
    only_first_two = (runs[0].manifest.shas() | runs[1].manifest.shas()) - (
        runs[2].manifest.shas() | runs[3].manifest.shas()
    )
    assert len(only_first_two) == 2  # the two old reports

    result = apply_retention(store, keep=2)
    assert manifest_keys(store) == [runs[2].manifest_key, runs[3].manifest_key]
    assert result.deleted_manifests == [runs[0].manifest_key, runs[1].manifest_key]
    assert result.deleted_objects == 2
    stored = set(stored_objects(store))
    assert not (only_first_two & stored)
    for key in manifest_keys(store):  # every kept manifest is whole
        assert read_manifest(store, key).shas() <= stored
        assert verify_backup(store, key, sample=0).passed


def test_young_unreferenced_objects_are_spared(tmp_path: Path) -> None:
    """Objects of a backup still uploading have no manifest yet; the grace period keeps them."""
    home = tmp_path / "home"
    build_home(home)
    s = Settings(home=home, backup_uri=str(tmp_path / "b"))
    roots = BackupRoots.from_settings(s)
    store = open_object_store(s.backup_location, s)
    run_backup(roots, store, run_id="a")
    store.put_bytes("objects/00/" + "0" * 64, b"in flight")  # no manifest names it yet
    kept = apply_retention(store, keep=1, grace_s=3600)
    assert kept.spared_young == 1 and kept.deleted_objects == 0
    later = datetime.now(UTC) + timedelta(hours=2)
    gone = apply_retention(store, keep=1, grace_s=3600, now=later)
    assert gone.deleted_objects == 1 and verify_backup(store, sample=0).passed
