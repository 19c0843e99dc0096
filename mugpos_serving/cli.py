"""``mugpos serve`` and ``mugpos token create``, plugged into the engine's CLI.

Registered through the ``mugpos.cli`` entry point, so the engine never imports the API.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Annotated

import typer

_TTL = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> int:
    """``3600``, ``90s``, ``15m``, ``12h`` or ``30d`` → seconds."""
    match = _TTL.match(text.lower())
    if not match or int(match.group(1)) <= 0:
        raise typer.BadParameter(f"{text!r}: use seconds or a number with s, m, h or d")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


def register(app: typer.Typer) -> None:
    from mugpos_serving.mcp.stdio import register as register_mcp

    register_mcp(app)
    token_app = typer.Typer(help="API tokens (JWT, HS256 with MUGPOS_JWT_SECRET).")
    app.add_typer(token_app, name="token")

    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
        workers: Annotated[
            int,
            typer.Option(
                min=1,
                help="API processes behind the one address (gunicorn with uvicorn workers when "
                "more than 1). Each loads the models and runs its own inference threads "
                "(MUGPOS_INFERENCE_WORKERS; unset, cores / N each); the cache and rate limits "
                "are shared through "
                "MUGPOS_REDIS_URL, metrics through PROMETHEUS_MULTIPROC_DIR.",
            ),
        ] = 1,
        access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
    ) -> None:
        """Run the positioning API (uvicorn; gunicorn + uvicorn workers with --workers > 1)."""
        from mugpos.settings import get_settings
        from mugpos_serving.auth import AuthConfigError, TokenCodec

        settings = get_settings()
        try:
            TokenCodec.from_settings(settings)  # fail here, not in every worker
        except AuthConfigError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
        if workers > 1 and settings.redis_url is None:
            typer.secho(
                "warning: no MUGPOS_REDIS_URL: each process keeps its own cache and rate limit "
                f"(a client may get {workers} times the limit)",
                fg=typer.colors.YELLOW,
                err=True,
            )
        if workers > 1:
            from mugpos_serving.replicas import serve_replicas

            serve_replicas(
                host=host,
                port=port,
                workers=workers,
                access_log=access_log,
                metrics_dir=settings.prometheus_multiproc_dir,
                inference_workers=settings.inference_workers,
            )
            return
        if settings.prometheus_multiproc_dir is not None:  # set by hand: start it empty too
            from mugpos_serving.replicas import prepare_metrics_dir

            prepare_metrics_dir(settings.prometheus_multiproc_dir)
        import uvicorn

        uvicorn.run(
            "mugpos_serving.app:create_app",
            factory=True,
            host=host,
            port=port,
            access_log=access_log,
            proxy_headers=False,
            server_header=False,
        )

    @token_app.command("create")
    def token_create(
        scope: Annotated[
            list[str],
            typer.Option("--scope", help="positions, rules:write or admin (repeatable)."),
        ],
        ttl: Annotated[str, typer.Option(help="Lifetime: seconds, or 15m, 12h, 30d.")] = "1h",
        subject: Annotated[str, typer.Option(help="Who the token is for.")] = "cli",
    ) -> None:
        """Print a signed token."""
        from mugpos.settings import get_settings
        from mugpos_serving.auth import AuthConfigError, TokenCodec

        settings = get_settings()
        try:
            if settings.jwt_secret is None:
                raise AuthConfigError("MUGPOS_JWT_SECRET is not set")
            codec = TokenCodec(
                settings.jwt_secret.get_secret_value(),
                max_ttl_s=settings.token_max_ttl_s,
                leeway_s=settings.token_leeway_s,
            )
            typer.echo(codec.create(subject, scope, parse_ttl(ttl)))
        except (AuthConfigError, ValueError) as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None

    @token_app.command("secret")
    def token_secret(
        file: Annotated[Path, typer.Option(help="Where the secret is kept (made once).")],
    ) -> None:
        """Print the development secret kept in FILE, making it first if needed. The file is
        readable by its owner only (0600), whoever made it."""
        typer.echo(dev_secret(file))


def dev_secret(path: Path) -> str:
    """The secret in ``path``; a new random one (48 bytes, URL-safe) when the file is absent
    or empty. Created with mode 0600 (never readable by others, not even for a moment), and
    an existing file's mode is narrowed to 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        text = path.read_text().strip()
        if text:
            return text
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    os.chmod(path, 0o600)
    return secret
