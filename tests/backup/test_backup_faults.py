"""Faults: the S3 server dies mid-backup, objects rot or vanish, a restore step fails."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import MotoS3, build_home, leftovers, state

from mugpos.backup import (
    BackupError,
    BackupRoots,
    RestoreError,
    manifest_keys,
    restore_backup,
    run_backup,
    verify_backup,
)
from mugpos.backup.manifest import object_key
from mugpos.backup.run import backup_family, write_manifest
from mugpos.backup.upload import stored_objects
from mugpos.objectstore.base import open_object_store
from mugpos.objectstore.s3 import S3ObjectStore


def _s3(tmp_path: Path, moto_s3: MotoS3, bucket: str) -> tuple[BackupRoots, S3ObjectStore]:
    home = tmp_path / "home"
    build_home(home)
    s = moto_s3.settings(home, bucket)
    store = open_object_store(s.backup_location, s)
    assert isinstance(store, S3ObjectStore)
    return BackupRoots.from_settings(s), store


def test_server_stopped_mid_backup_fails_cleanly_and_the_rerun_uploads_only_the_rest(
    tmp_path: Path, moto_s3: MotoS3, bucket: str
) -> None:
    roots, store = _s3(tmp_path, moto_s3, bucket)
    puts = 0
    lock = threading.Lock()

    def stop_after_five(**_: Any) -> None:
        nonlocal puts
        with lock:
            puts += 1
            if puts == 5:
                moto_s3.stop()  # real HTTP failure: the next connections are refused

    store.client.meta.events.register("after-call.s3.PutObject", stop_after_five)
    started = time.monotonic()
    try:
        with pytest.raises(BackupError, match="Could not connect to the endpoint URL"):
            run_backup(roots, store, run_id="interrupted", concurrency=1)
    finally:
        store.client.meta.events.unregister("after-call.s3.PutObject", stop_after_five)
        if moto_s3.server is None:
            moto_s3.start()
    assert time.monotonic() - started < 30  # bounded retries, short timeouts
    assert manifest_keys(store) == []  # nothing names the objects of the failed run
    assert leftovers(roots.home) == []
    already = stored_objects(store)
    assert len(already) == 5

    report = run_backup(roots, store, run_id="rerun")
    wanted = {e.sha256 for e in report.manifest.entries}
    assert report.uploaded == len(wanted) - 5 and report.skipped == 5
    assert manifest_keys(store) == [report.manifest_key]
    check = verify_backup(store)  # every object listed and re-hashed
    assert check.passed and len(check.checked) == len(wanted)


def test_the_manifest_refuses_to_name_an_object_that_is_not_stored(tmp_path: Path) -> None:
    home = tmp_path / "home"
    build_home(home)
    from mugpos.settings import Settings

    s = Settings(home=home, backup_uri=str(tmp_path / "b"))
    roots = BackupRoots.from_settings(s)
    store = open_object_store(s.backup_location, s)
    result = backup_family("models", roots, store, run_id="r")
    store.delete(object_key(result.entries[0].sha256))  # e.g. retention of a concurrent run
    with pytest.raises(BackupError, match=result.entries[0].path):
        write_manifest(store, [result], run_id="r")
    assert manifest_keys(store) == []


@pytest.mark.parametrize("how", ["rotted", "rewritten", "deleted"])
def test_a_bad_object_is_named_and_nothing_is_restored(
    how: str, tmp_path: Path, moto_s3: MotoS3, bucket: str
) -> None:
    roots, store = _s3(tmp_path, moto_s3, bucket)
    report = run_backup(roots, store, run_id="r")
    entry = next(e for e in report.manifest.entries if e.path.startswith("index/v"))
    key = store._key(object_key(entry.sha256))
    if how == "rotted":  # bytes change, recorded sha256 stays: the store's own check trips
        meta = store.client.head_object(Bucket=store.bucket, Key=key)["Metadata"]
        store.client.put_object(Bucket=store.bucket, Key=key, Body=b"rot", Metadata=meta)
    elif how == "rewritten":  # consistent with itself, not with the manifest
        store.put_bytes(object_key(entry.sha256), b"another file")
    else:
        store.client.delete_object(Bucket=store.bucket, Key=key)
    (roots.home / "evaluation" / "report.json").write_text("changed since the backup")
    before = state(roots)
    with pytest.raises(RestoreError) as info:
        restore_backup(store, roots)
    word = "missing" if how == "deleted" else "corrupted"
    assert f"{word}: {entry.path}" in info.value.message
    assert len(info.value.details["problems"]) == 1
    assert state(roots) == before  # live state untouched, the changed report included
    assert leftovers(roots.home) == []
    assert not verify_backup(store).passed


def test_a_failure_while_swapping_rolls_back_what_was_swapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mugpos.backup import restore as restore_mod
    from mugpos.settings import Settings

    home = tmp_path / "home"
    build_home(home)
    s = Settings(home=home, backup_uri=str(tmp_path / "b"))
    roots = BackupRoots.from_settings(s)
    store = open_object_store(s.backup_location, s)
    run_backup(roots, store, run_id="r")
    (home / "models" / "manifest.json").write_text("{}")  # live state differs from the backup
    (home / "evaluation" / "new.txt").write_text("x")
    before = state(roots)
    real_rename = os.rename
    failed = []

    def failing_rename(src: Any, dst: Any) -> None:
        # Swapping in the last family fails once; models, index, documents are already in.
        if Path(dst) == roots.evaluation and not failed:
            failed.append(src)
            raise OSError("disk on fire")
        real_rename(src, dst)

    monkeypatch.setattr(restore_mod.os, "rename", failing_rename)
    with pytest.raises(OSError, match="disk on fire"):
        restore_backup(store, roots)
    monkeypatch.undo()
    assert state(roots) == before
    assert leftovers(home) == []


def test_a_tampered_manifest_cannot_write_outside_the_targets(tmp_path: Path) -> None:
    import json

    from mugpos.settings import Settings

    home = tmp_path / "home"
    build_home(home)
    s = Settings(home=home, backup_uri=str(tmp_path / "b"))
    roots = BackupRoots.from_settings(s)
    store = open_object_store(s.backup_location, s)
    report = run_backup(roots, store, run_id="r")
    body = json.loads(store.get_bytes(report.manifest_key))
    body["entries"][0]["path"] = "models/../../escaped.txt"
    store.put_bytes(report.manifest_key, json.dumps(body).encode())
    with pytest.raises(BackupError, match="not a clean relative path"):
        restore_backup(store, roots)
    assert not (tmp_path / "escaped.txt").exists()
