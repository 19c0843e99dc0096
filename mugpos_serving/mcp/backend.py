"""How the MCP tools reach the platform: through our own REST routes, with the caller's token.

Over HTTP the tools call the app they are mounted in, in process (an ASGI transport, no
socket); ``mugpos mcp`` calls an app it runs itself, or a remote API. Either way a tool call is
a REST request: the same authentication and scopes, rate limits, budgets, error shape and
events, with no second implementation to drift from the first.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

import httpx

# The Authorization header of the MCP request being served (set per message by the server's
# middleware from what the /mcp endpoint verified); None over stdio.
CALLER: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mugpos_mcp_caller", default=None
)
AUTH_SCOPE_KEY = "mugpos.mcp.authorization"


class ToolFailure(Exception):
    """A REST call answered an error: its status and our error body (code, message, details)."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.status = status
        self.error = error


class RestBackend:
    def __init__(
        self,
        client: httpx.AsyncClient,
        authorization: Callable[[], str | None] = lambda: None,
    ) -> None:
        """``authorization`` supplies the header when no MCP caller is set (stdio)."""
        self.client = client
        self.authorization = authorization

    @classmethod
    def in_process(
        cls, app: Any, authorization: Callable[[], str | None] = lambda: None
    ) -> RestBackend:
        transport = httpx.ASGITransport(app=app)
        return cls(
            httpx.AsyncClient(transport=transport, base_url="http://mugpos.internal"), authorization
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        caller = CALLER.get() or self.authorization()
        sent = {**({"Authorization": caller} if caller else {}), **(headers or {})}
        try:
            response = await self.client.request(
                method, path, json=json, params=params, headers=sent
            )
        except httpx.HTTPError as exc:
            raise ToolFailure(
                503,
                {
                    "code": "api_unreachable",
                    "message": f"the mugpos API did not answer ({type(exc).__name__})",
                    "details": {},
                },
            ) from None
        if response.status_code >= 400:
            raise ToolFailure(response.status_code, _error_of(response))
        return response

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self.request(method, path, **kwargs)).json()

    async def aclose(self) -> None:
        await self.client.aclose()


def _error_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]  # type: ignore[no-any-return]
    return {
        "code": f"http_{response.status_code}",
        "message": response.text[:300] or response.reason_phrase,
        "details": {},
    }
