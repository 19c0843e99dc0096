"""``/mcp`` in the API app: Streamable HTTP, the same bearer tokens as the REST routes.

The endpoint checks the token before the SDK sees the request (401 with our error shape and a
``WWW-Authenticate`` challenge, as REST answers), then hands the request to the SDK's session
manager. The manager runs stateless with JSON answers: every POST stands alone, so any API
worker can answer any request (no session affinity) and proxies see plain JSON. Scopes are
checked per tool, by the REST route each tool calls. Host and Origin headers are checked against
``MUGPOS_MCP_ALLOWED_HOSTS`` / ``_ORIGINS`` (DNS rebinding).
"""

from __future__ import annotations

from typing import Any

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Receive, Scope, Send

from mugpos.settings import Settings
from mugpos_serving.auth import authenticate
from mugpos_serving.errors import ApiError, error_response
from mugpos_serving.mcp.backend import AUTH_SCOPE_KEY, RestBackend
from mugpos_serving.mcp.tools import build_server

PATH = "/mcp"


def transport_security(settings: Settings) -> TransportSecuritySettings:
    hosts = settings.mcp_allowed_hosts
    if "*" in hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(hosts),
        allowed_origins=list(settings.mcp_allowed_origins),
    )


class McpEndpoint:
    """An ASGI app for the ``/mcp`` route; ``manager.run()`` belongs in the app's lifespan."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.backend = RestBackend.in_process(app)
        self.server = build_server(self.backend)
        # Builds the session manager (its Starlette app is not used: we route to it ourselves).
        self.server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            json_response=True,
            transport_security=transport_security(settings),
            max_request_body_size=settings.max_request_bytes,
        )
        self.manager = self.server.session_manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = scope["app"].state.services
        header = _header(scope, b"authorization")
        try:
            authenticate(services.codec, header)
        except ApiError as exc:
            response = error_response(
                exc.status_code, exc.code, exc.message, dict(exc.details), exc.headers
            )
            await response(scope, receive, send)
            return
        scope[AUTH_SCOPE_KEY] = header
        await self.manager.handle_request(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None
