"""The registry at start-up: a sound manifest is served, a broken one falls back and says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from serving_helpers import link_models

from mugpos.manifest import manifest_entry, new_manifest, write_manifest
from mugpos.models.catalog import get_spec
from mugpos.models.store import ModelStore
from mugpos.settings import Settings
from mugpos_serving.models import ModelRegistry

SSD = "ssd-mobilenetv2-oidv4"


def home_with_manifest(shared_home: Path, tmp_path: Path, corrupt: bool) -> Settings:
    link_models(shared_home, tmp_path)
    store = ModelStore(tmp_path / "models", offline=True)
    entry = manifest_entry(store, get_spec(SSD))
    if corrupt:
        entry.files["labels.txt"].path = "elsewhere/labels.txt"
    write_manifest(store, new_manifest(SSD, SSD, [entry]))
    return Settings(home=tmp_path, offline=True)


def test_manifest_at_start(shared_home: Path, ssd: Any, tmp_path: Path) -> None:
    registry = ModelRegistry(home_with_manifest(shared_home, tmp_path, corrupt=False))
    events: list[str] = []
    registry.listeners.append(lambda result, _: events.append(result))
    bundle = registry.load_initial()
    assert bundle.source == "manifest" and bundle.fingerprint
    assert registry.state == "ok" and events == ["loaded"]
    assert bundle.embedder is bundle.detector  # one network for both roles
    assert registry.poll() is False  # unchanged file: nothing to do


def test_broken_manifest_at_start(shared_home: Path, ssd: Any, tmp_path: Path) -> None:
    registry = ModelRegistry(home_with_manifest(shared_home, tmp_path, corrupt=True))
    bundle = registry.load_initial()
    assert bundle.source == "offline_default" and bundle.detector.id == SSD
    assert registry.state == "manifest_rejected"
    described = registry.describe()
    assert any("elsewhere/labels.txt" in p for p in described["problems"])  # type: ignore[union-attr]
