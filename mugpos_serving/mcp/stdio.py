"""``mugpos mcp``: the MCP server over stdio, for clients that start it as a subprocess.

With ``MUGPOS_MCP_API_URL`` it forwards every tool call to that API with ``MUGPOS_MCP_TOKEN``
(the server checks it as it checks any REST call). Without, it runs the API app in this process
(models, stores, the same routes) and signs a short-lived token per call with
``MUGPOS_JWT_SECRET`` for the scopes given, so a local client gets exactly the access it was
started with. stdout carries only the protocol: while the app starts up, anything written to it
goes to stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Annotated

import typer

from mugpos.settings import Settings, get_settings

DEFAULT_SCOPES = ("positions", "rules:write")
TOKEN_TTL_S = 300


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def local_authorization(settings: Settings, scopes: list[str]) -> Callable[[], str | None]:
    from mugpos_serving.auth import TokenCodec

    codec = TokenCodec.from_settings(settings)  # raises AuthConfigError when auth cannot work
    if codec is None:
        return lambda: None
    codec.create("mcp-stdio", scopes, TOKEN_TTL_S)  # unknown scopes fail now, not per call
    return lambda: "Bearer " + codec.create("mcp-stdio", scopes, TOKEN_TTL_S)


async def serve(settings: Settings, scopes: list[str]) -> None:
    import httpx

    from mugpos_serving.mcp.backend import RestBackend
    from mugpos_serving.mcp.tools import build_server

    async with contextlib.AsyncExitStack() as stack:
        if settings.mcp_api_url:
            token = settings.mcp_token.get_secret_value() if settings.mcp_token else None
            client = httpx.AsyncClient(
                base_url=settings.mcp_api_url.rstrip("/"),
                timeout=settings.request_timeout_s + 5,
                trust_env=False,
            )
            backend = RestBackend(client, lambda: f"Bearer {token}" if token else None)
        else:
            from mugpos_serving.app import create_app

            authorization = local_authorization(settings, scopes)
            app = create_app(settings)
            with stdout_to_stderr():
                await stack.enter_async_context(app.router.lifespan_context(app))
            backend = RestBackend.in_process(app, authorization)
        stack.push_async_callback(backend.aclose)
        await build_server(backend).run_stdio_async()


def register(app: typer.Typer) -> None:
    @app.command("mcp")
    def mcp_command(
        scope: Annotated[
            list[str] | None,
            typer.Option(
                "--scope",
                help="Scopes of the in-process API calls (repeatable; default: positions and "
                "rules:write). Ignored with MUGPOS_MCP_API_URL, where the token decides.",
            ),
        ] = None,
    ) -> None:
        """Serve MCP over stdio (for Claude Desktop, Cursor, the MCP Inspector...)."""
        import anyio

        from mugpos_serving.auth import AuthConfigError

        settings = get_settings()
        try:
            anyio.run(serve, settings, list(scope or DEFAULT_SCOPES))
        except (AuthConfigError, ValueError) as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
