"""`mugpos token create` and `mugpos serve` refusing to start without a usable secret."""

from __future__ import annotations

import time

import jwt
import pytest
import typer
from serving_helpers import SECRET
from typer.testing import CliRunner

from mugpos_serving.cli import parse_ttl, register


@pytest.fixture()
def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test root."""

    register(app)
    return app


def test_token_create(cli: typer.Typer, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    from mugpos.settings import get_settings

    monkeypatch.setenv("MUGPOS_JWT_SECRET", SECRET)
    get_settings.cache_clear()
    try:
        args = ["token", "create", "--scope", "positions", "--scope", "rules:write"]
        result = CliRunner().invoke(cli, [*args, "--ttl", "15m", "--subject", "ci"])
        assert result.exit_code == 0, result.output
        claims = jwt.decode(result.output.strip(), SECRET, algorithms=["HS256"], issuer="mugpos")
        assert claims["sub"] == "ci" and claims["scope"] == "positions rules:write"
        assert abs(claims["exp"] - time.time() - 900) < 5

        bad = CliRunner().invoke(cli, ["token", "create", "--scope", "root"])
        assert bad.exit_code == 2 and "scopes must be among" in bad.output
    finally:
        get_settings.cache_clear()


def test_serve_refuses_without_secret(
    cli: typer.Typer, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    from mugpos.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve"])
        assert result.exit_code == 2
        assert "MUGPOS_JWT_SECRET is not set" in result.output
    finally:
        get_settings.cache_clear()


def test_parse_ttl() -> None:
    assert [parse_ttl(t) for t in ("90", "90s", "15m", "2h", "30d")] == [
        90, 90, 900, 7200, 2_592_000,
    ]  # fmt: skip
    with pytest.raises(typer.BadParameter):
        parse_ttl("0")
    with pytest.raises(typer.BadParameter):
        parse_ttl("soon")
