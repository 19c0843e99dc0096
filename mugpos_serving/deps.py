"""FastAPI dependencies: the services of this app, and the caller (authenticated, in scope and
within the rate limit).

Dependencies are ``async`` so they run on the event loop: a sync dependency would cost a
thread hop on every request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mugpos_serving.auth import Principal, authenticate, require_scope
from mugpos_serving.errors import RateLimited
from mugpos_serving.services import Services

# Declared for OpenAPI ("Authorize" in the docs); the header is checked by `authenticate`.
bearer = HTTPBearer(auto_error=False, description="A token from `mugpos token create`.")


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def request_id(request: Request) -> str:
    return str(request.scope["state"]["request_id"])


def caller(scope: str | None) -> Callable[..., Awaitable[Principal]]:
    """A dependency returning the caller; ``scope=None`` accepts any valid token."""

    async def dependency(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        services = get_services(request)
        principal = authenticate(services.codec, request.headers.get("authorization"))
        if scope is not None:
            require_scope(principal, scope)
        client = request.client.host if request.client else "unknown"
        key = principal.token_id or f"ip:{client}"
        decision = services.limiter.hit(key)
        headers = decision.headers()
        if headers:
            request.scope["state"].setdefault("extra_headers", {}).update(headers)
        if not decision.allowed:
            services.metrics.rate_limited.labels(decision.backend).inc()
            raise RateLimited(
                f"rate limit of {decision.limit} requests per minute reached",
                details={"limit": decision.limit, "retry_after_s": decision.retry_after_s},
                headers={"Retry-After": str(decision.retry_after_s)},
            )
        return principal

    return dependency


# Route parameters: `principal: PositionsCaller` authenticates, checks the scope, rate-limits.
PositionsCaller = Annotated[Principal, Depends(caller("positions"))]
RulesWriter = Annotated[Principal, Depends(caller("rules:write"))]
AnyCaller = Annotated[Principal, Depends(caller(None))]
