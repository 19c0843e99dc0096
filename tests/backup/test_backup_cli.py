"""``mugpos backups run|list|verify`` and ``mugpos restore`` as a user types them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from conftest import build_home, state
from typer.testing import CliRunner

from mugpos.backup import BackupRoots, load_manifest
from mugpos.backup.cli import register
from mugpos.backup.manifest import object_key
from mugpos.objectstore import LocalObjectStore
from mugpos.settings import Settings, get_settings


@pytest.fixture()
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> Iterator[typer.Typer]:
    monkeypatch.setenv("MUGPOS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MUGPOS_BACKUP_URI", str(tmp_path / "backups"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    app = typer.Typer()
    app.callback()(lambda: None)  # a group, like the real `mugpos` app
    register(app)
    yield app
    get_settings.cache_clear()


def test_backup_list_restore_and_a_corrupted_object(cli: typer.Typer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    build_home(home)
    roots = BackupRoots.from_settings(Settings(home=home))
    before = state(roots)
    runner = CliRunner()

    ran = runner.invoke(cli, ["backups", "run"])
    assert ran.exit_code == 0, ran.output
    store = LocalObjectStore(tmp_path / "backups")
    key, manifest = load_manifest(store)
    assert key in ran.output and "models: 4 files, 4 uploaded" in ran.output
    listed = runner.invoke(cli, ["backups", "list"])
    assert listed.exit_code == 0 and key in listed.output

    shutil.rmtree(home / "models")
    shutil.rmtree(home / "index")
    restored = runner.invoke(cli, ["restore"])
    assert restored.exit_code == 0, restored.output
    assert "models: 4 file(s) restored" in restored.output
    assert state(roots) == before

    victim = next(e for e in manifest.entries if e.path == "models/toy-embedder/1/weights.bin")
    (store.root / object_key(victim.sha256)).write_bytes(b"bit rot")
    shutil.rmtree(home / "models")
    failed = runner.invoke(cli, ["restore", "--manifest", manifest.run_id])
    assert failed.exit_code == 2
    assert "corrupted: models/toy-embedder/1/weights.bin" in failed.output
    assert "nothing was changed" in failed.output and not (home / "models").exists()
    verified = runner.invoke(cli, ["backups", "verify"])
    assert verified.exit_code == 1 and "corrupted: models/toy-embedder/1/weights.bin" in (
        verified.output
    )
