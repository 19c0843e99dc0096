"""Settings read MUGPOS_* variables and nothing else; bad values are refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mugpos.settings import Settings


def test_env_prefix(monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    monkeypatch.setenv("MUGPOS_HOME", "/srv/mugpos")
    monkeypatch.setenv("MUGPOS_MAX_IMAGE_PIXELS", "1000")
    monkeypatch.setenv("HOME_DIR", "ignored")
    s = Settings()
    assert s.home == Path("/srv/mugpos")
    assert s.model_cache_dir == Path("/srv/mugpos/models")
    assert s.max_image_pixels == 1000


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    monkeypatch.setenv("MUGPOS_DEVICE", "tpu")
    with pytest.raises(ValidationError, match="device"):
        Settings()


def test_secrets_do_not_print(monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    monkeypatch.setenv("MUGPOS_S3_SECRET_ACCESS_KEY", "very-secret")
    s = Settings()
    assert "very-secret" not in repr(s)
    assert s.s3_secret_access_key is not None
    assert s.s3_secret_access_key.get_secret_value() == "very-secret"
