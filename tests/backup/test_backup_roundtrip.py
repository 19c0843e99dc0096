"""Back up, wipe, restore, compare: against a real S3 HTTP endpoint (moto) and a directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import MotoS3, build_home, leftovers, state, write_index

from mugpos.backup import BackupRoots, load_manifest, restore_backup, run_backup
from mugpos.objectstore.base import open_object_store
from mugpos.settings import Settings


def _target(kind: str, home: Path, moto_s3: MotoS3, bucket: str) -> Settings:
    if kind == "s3":
        return moto_s3.settings(home, bucket)
    return Settings(home=home, backup_uri=str(home.parent / "backup-dir"))


def _wipe(home: Path) -> None:
    for name in ("models", "embeddings", "index", "evaluation"):
        shutil.rmtree(home / name)
    for p in home.glob("documents.sqlite3*"):
        p.unlink()


@pytest.mark.parametrize("kind", ["s3", "dir"])
def test_backup_wipe_restore_is_byte_for_byte(
    kind: str, tmp_path: Path, moto_s3: MotoS3, bucket: str
) -> None:
    home = tmp_path / "home"
    build_home(home)
    s = _target(kind, home, moto_s3, bucket)
    roots = BackupRoots.from_settings(s)
    store = open_object_store(s.backup_location, s)
    before = state(roots)

    report = run_backup(roots, store, run_id="run-1")
    key, manifest = load_manifest(store)
    assert key == report.manifest_key and manifest.run_id == "run-1"
    assert manifest.code_version.startswith("mugpos ")
    paths = {e.path: e for e in manifest.entries}
    assert paths["models/manifest.json"].source == "model_manifest"
    assert paths["models/toy-embedder/1/exports/model.onnx"].source == "models/toy_embedder_onnx"
    assert paths["models/toy-embedder/1/weights.bin"].asset == "backup_models"
    assert paths["documents/analyses.jsonl"].source == "scene_analyses"
    assert "index/CURRENT" in paths and not any(p.startswith("corpus/") for p in paths)
    assert {f for f, i in manifest.families.items() if i.present} == {
        "models",
        "embeddings",
        "index",
        "documents",
        "evaluation",
    }

    _wipe(home)
    restored = restore_backup(store, roots)
    assert restored.manifest == key and restored.families["models"] == 4
    assert state(roots) == before  # files byte for byte, documents, and the index's answers
    assert leftovers(home) == []


def test_unchanged_files_are_not_uploaded_again(
    tmp_path: Path, moto_s3: MotoS3, bucket: str
) -> None:
    home = tmp_path / "home"
    build_home(home)
    s = moto_s3.settings(home, bucket)
    roots = BackupRoots.from_settings(s)
    store = open_object_store(s.backup_location, s)
    first = run_backup(roots, store, run_id="one")
    assert first.skipped == 0 and first.uploaded == len({e.sha256 for e in first.manifest.entries})
    second = run_backup(roots, store, run_id="two")
    assert second.uploaded == 0 and second.skipped == first.uploaded
    (home / "evaluation" / "report.json").write_text('{"map50": 0.62}')
    third = run_backup(roots, store, run_id="three")
    assert third.uploaded == 1  # only the changed report
    changed = {r.info.asset: r.stats.uploaded for r in third.families}
    assert changed["backup_evaluation"] == 1 and sum(changed.values()) == 1


def test_restore_of_an_older_manifest_and_of_one_family(tmp_path: Path) -> None:
    home = tmp_path / "home"
    build_home(home)
    s = Settings(home=home, backup_uri=str(tmp_path / "backups"))
    roots = BackupRoots.from_settings(s)
    store = open_object_store(s.backup_location, s)
    old = run_backup(roots, store, run_id="old")
    old_index = state(roots)["index"]
    write_index(home, n=50, seed=1)  # the index changes after the first backup
    run_backup(roots, store, run_id="new")
    docs_before = state(roots)["documents"]
    restore_backup(store, roots, manifest="old", families=["index"])
    after = state(roots)
    assert after["index"] == old_index and old.manifest.run_id == "old"
    assert after["documents"] == docs_before
