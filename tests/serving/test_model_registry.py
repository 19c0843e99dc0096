"""The registry at start-up: a sound manifest is served, a broken one falls back and says so."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from serving_helpers import link_models

from mugpos.fileio import sha256_file
from mugpos.manifest import describe_file, manifest_entry, new_manifest, write_manifest
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
    assert bundle.embedder is bundle.network  # one network for both roles
    assert registry.poll() is False  # unchanged file: nothing to do


def test_broken_manifest_at_start(shared_home: Path, ssd: Any, tmp_path: Path) -> None:
    registry = ModelRegistry(home_with_manifest(shared_home, tmp_path, corrupt=True))
    bundle = registry.load_initial()
    assert bundle.source == "offline_default" and bundle.detector.id == SSD
    assert registry.state == "manifest_rejected"
    described = registry.describe()
    assert any("elsewhere/labels.txt" in p for p in described["problems"])  # type: ignore[union-attr]


def test_a_bad_model_file_is_rejected_and_left_in_place(
    shared_home: Path, ssd: Any, tmp_path: Path
) -> None:
    """The API never deletes a cached model file, even one that does not match its pin: it
    rejects the manifest naming it, keeps serving, and leaves the file for a fetch to replace."""
    settings = home_with_manifest(shared_home, tmp_path, corrupt=False)
    registry = ModelRegistry(settings)
    assert registry.load_initial().source == "manifest"
    store = ModelStore(tmp_path / "models", offline=True)
    spec = get_spec(SSD)
    entry = manifest_entry(store, spec)
    labels = store.cache_path(spec, spec.file("labels.txt"))
    text = labels.read_text()
    labels.unlink()  # break the hard link to the session's copy before changing the file
    labels.write_text(text.replace("Mug", "Jug"))
    entry.files["labels.txt"].sha256 = sha256_file(labels)  # the manifest agrees with the file
    entry.parity = {"build": "relabelled"}  # a new fingerprint
    write_manifest(store, new_manifest(SSD, SSD, [entry]))
    assert registry.poll() is False
    assert registry.state == "manifest_rejected"
    assert labels.read_text() == text.replace("Mug", "Jug")  # still there, untouched
    assert any("not the pinned" in p for p in registry.describe()["problems"])  # type: ignore[union-attr]


def home_with_extra_file(shared_home: Path, tmp_path: Path, poll_s: float) -> tuple[Settings, Path]:
    """A sound manifest that also lists one extra file (as it lists exports), then that file
    goes missing: the manifest is rejected while the offline default still loads."""
    link_models(shared_home, tmp_path)
    store = ModelStore(tmp_path / "models", offline=True)
    extra = tmp_path / "models" / SSD / "extra" / "notes.bin"
    extra.parent.mkdir(parents=True)
    extra.write_bytes(b"served beside the model")
    entry = manifest_entry(store, get_spec(SSD))
    entry.exports["notes"] = describe_file(tmp_path / "models", extra)
    write_manifest(store, new_manifest(SSD, SSD, [entry]))
    aside = extra.with_name("notes.aside")
    extra.rename(aside)
    return Settings(home=tmp_path, offline=True, manifest_poll_s=poll_s), aside


def test_a_rejected_manifest_is_retried_on_a_backoff(
    shared_home: Path, ssd: Any, tmp_path: Path
) -> None:
    """A manifest rejected for a missing file is served once the file is back, with no
    restart and no touch of the manifest; /readyz's models check says when the next try is."""
    settings, aside = home_with_extra_file(shared_home, tmp_path, poll_s=0.05)
    registry = ModelRegistry(settings)
    assert registry.load_initial().source == "offline_default"
    rejected = registry.describe()
    assert registry.poll() is False  # within the backoff: not even read again
    aside.rename(aside.with_name("notes.bin"))
    deadline = time.monotonic() + 10
    while not registry.poll():
        assert time.monotonic() < deadline, registry.describe()
        time.sleep(0.02)
    assert registry.current is not None and registry.current.source == "manifest"
    assert registry.state == "ok" and registry.describe()["retry"] is None
    assert rejected["state"] == "manifest_rejected" and "backoff" in str(rejected["message"])
    assert rejected["retry"]["attempts"] == 1  # type: ignore[index]


def test_touching_a_rejected_manifest_retries_at_once(
    shared_home: Path, ssd: Any, tmp_path: Path
) -> None:
    settings, aside = home_with_extra_file(shared_home, tmp_path, poll_s=3600.0)
    registry = ModelRegistry(settings)
    assert registry.load_initial().source == "offline_default"
    assert registry.describe()["retry"]["next_in_s"] > 30  # type: ignore[index]
    aside.rename(aside.with_name("notes.bin"))
    assert registry.poll() is False  # the backoff (capped at a minute) has not passed
    manifest = tmp_path / "models" / "manifest.json"
    os.utime(manifest, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert registry.poll() is True and registry.current.source == "manifest"  # type: ignore[union-attr]
