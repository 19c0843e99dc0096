"""FastAPI dependencies: the services of this app, and the caller (authenticated, in scope).

Authentication and the rate limit run earlier, in :mod:`mugpos_serving.middleware`, before the
body is read; the dependency takes the principal from there and checks the route's scope.
Dependencies are ``async`` so they run on the event loop: a sync dependency would cost a
thread hop on every request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mugpos_serving.auth import Principal, authenticate, require_scope
from mugpos_serving.middleware import charge
from mugpos_serving.services import Services

# Declared for OpenAPI ("Authorize" in the docs); the header is checked by `authenticate`.
bearer = HTTPBearer(auto_error=False, description="A token from `mugpos token create`.")


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def request_id(request: Request) -> str:
    """The server-made id of this request (what analyses and feedback are stored under)."""
    return str(request.scope["state"]["request_id"])


def client_request_id(request: Request) -> str | None:
    """The client's own ``X-Request-ID``, kept for correlation only."""
    value = request.scope["state"].get("client_request_id")
    return None if value is None else str(value)


async def charge_more(request: Request, cost: int) -> None:
    """Count ``cost`` more units of work against the caller's rate limit (a batch of N images
    counts N; the request itself was counted once at admission)."""
    state = request.scope["state"]
    if cost > 0 and "limit_key" in state:
        await charge(get_services(request), state, state["limit_key"], cost)


def caller(scope: str | None) -> Callable[..., Awaitable[Principal]]:
    """A dependency returning the caller; ``scope=None`` accepts any valid token."""

    async def dependency(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        principal = request.scope["state"].get("principal")
        if principal is None:  # a route outside the admitted prefix
            principal = authenticate(
                get_services(request).codec, request.headers.get("authorization")
            )
        if scope is not None:
            require_scope(principal, scope)
        return principal  # type: ignore[no-any-return]

    return dependency


# Route parameters: `principal: PositionsCaller` is the authenticated caller with the scope.
PositionsCaller = Annotated[Principal, Depends(caller("positions"))]
RulesWriter = Annotated[Principal, Depends(caller("rules:write"))]
AnyCaller = Annotated[Principal, Depends(caller(None))]
