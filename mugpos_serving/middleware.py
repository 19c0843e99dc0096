"""One pure-ASGI middleware for what every request needs (cheaper than a stack of them):

* request ids: each request gets a server-made id (``X-Request-ID`` out, the id analyses and
  feedback are stored under); a client's ``X-Request-ID``, if well formed, is only kept as a
  correlation id (``X-Client-Request-ID`` out, ``client_request_id`` in answers), so no client
  can choose, or collide with, the id of someone else's record;
* admission of API routes (``/v1/``) before any byte of the body is read: the bearer token
  is checked (401), then the caller's rate limit counted (429), so an anonymous or throttled
  client never gets a body parsed;
* body limits sized to the route (image routes: ``MUGPOS_MAX_REQUEST_BYTES``; JSON-only routes
  such as rules and feedback: ``MUGPOS_MAX_JSON_BODY_BYTES``): a declared ``Content-Length``
  over the limit is answered 413 before reading, and a chunked body is answered 413 the moment
  it passes the limit (the rest is never read);
* the request timeout for API routes (504 with the error shape);
* metrics per route template and status;
* the last line of defence: an unexpected exception becomes a 500 with the error shape, and the
  traceback goes to the log, never to the client.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mugpos.errors import MugposError
from mugpos.settings import Settings
from mugpos_serving.auth import Principal, authenticate
from mugpos_serving.errors import (
    ApiError,
    PayloadTooLarge,
    RateLimited,
    error_response,
    internal_error_response,
)
from mugpos_serving.metrics import Metrics

log = logging.getLogger(__name__)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,80}$")
API_PREFIX = "/v1/"
IMAGE_ROUTES = ("/v1/positions", "/v1/search")


def body_limit(settings: Settings, path: str) -> int:
    """The largest body a route reads: images (one, or a batch) or small JSON."""
    if path.startswith(IMAGE_ROUTES):
        return settings.max_request_bytes
    return min(settings.max_request_bytes, settings.max_json_body_bytes)


def limit_key(principal: Principal, scope: Scope) -> str:
    """Whose budget a request counts against: the principal, or the client address without
    auth (every anonymous caller is the same principal then)."""
    if principal.token_id is None and principal.subject == "anonymous":
        client = scope.get("client")
        return f"ip:{client[0] if client else 'unknown'}"
    return f"sub:{principal.subject}"


class ServingMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        settings: Settings,
        timed_prefix: str = API_PREFIX,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.settings = settings
        self.timeout_s = settings.request_timeout_s
        self.timed_prefix = timed_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        client_id = _incoming_id(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_request_id"] = client_id
        status = 500
        response_started = False
        refused = False  # we answered (413 mid-body): whatever the app sends is dropped

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if refused:
                return
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                if client_id is not None:
                    headers.append((b"x-client-request-id", client_id.encode()))
                present = {name.lower() for name, _ in headers}
                for k, v in state.get("extra_headers", {}).items():
                    name = k.lower().encode()
                    if name not in present:
                        headers.append((name, v.encode()))
                message = {**message, "headers": headers}
            await send(message)

        async def reply(response: Any) -> None:
            await response(scope, receive, send_wrapper)

        limit = body_limit(self.settings, scope["path"])

        async def limited() -> Message:
            """``receive`` that answers 413 and stops the app once the body passes the limit."""
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    if not response_started:
                        await reply(_too_large(limit))
                    refused = True
                    raise PayloadTooLarge(
                        f"the request body is larger than {limit} bytes",
                        details={"max_bytes": limit},
                    )
            return message

        seen = 0
        try:
            api = scope["path"].startswith(self.timed_prefix)
            if api:
                try:
                    await self._admit(scope, state)
                except ApiError as exc:
                    await reply(_error(exc))
                    return
            declared = _content_length(scope)
            if declared is not None and declared > limit:
                await reply(_too_large(limit))
                return
            if api:
                async with asyncio.timeout(self.timeout_s):
                    await self.app(scope, limited, send_wrapper)
            else:
                await self.app(scope, limited, send_wrapper)
        except TimeoutError:
            if not response_started:
                await reply(
                    error_response(
                        504,
                        "timeout",
                        f"the request took longer than {self.timeout_s:g} s",
                        {"timeout_s": self.timeout_s},
                    )
                )
        except PayloadTooLarge:
            if not response_started:
                await reply(_too_large(limit))
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not response_started:
                await reply(internal_error_response())
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    async def _admit(self, scope: Scope, state: dict[str, Any]) -> None:
        """Authenticate from the headers and count the request; raises the API's 401/429."""
        services = scope["app"].state.services
        principal = authenticate(services.codec, _header(scope, b"authorization"))
        state["principal"] = principal
        state["limit_key"] = key = limit_key(principal, scope)
        await charge(services, state, key, 1)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        labels = (scope.get("method", "?"), template, str(status))
        self.metrics.requests.labels(*labels).inc()
        self.metrics.latency.labels(*labels).observe(seconds)
        if scope["path"].startswith(API_PREFIX):
            self.metrics.process_requests.inc()


async def charge(services: Any, state: dict[str, Any], key: str, cost: int) -> None:
    """Count ``cost`` units against ``key``'s rate limit; raises 429 past it. The limit headers
    of the answer show the latest count."""
    decision = await services.limiter.hit(key, cost)
    headers = decision.headers()
    if headers:
        state.setdefault("extra_headers", {}).update(headers)
    if not decision.allowed:
        services.metrics.rate_limited.labels(decision.backend).inc()
        raise RateLimited(
            f"rate limit of {decision.limit} requests per minute reached",
            details={"limit": decision.limit, "retry_after_s": decision.retry_after_s},
            headers={"Retry-After": str(decision.retry_after_s)},
        )


def _error(exc: MugposError) -> Any:
    headers = exc.headers if isinstance(exc, ApiError) else None
    status = exc.status_code if isinstance(exc, ApiError) else 400
    return error_response(status, exc.code, exc.message, dict(exc.details), headers)


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return value.decode("latin-1")
    return None


def _incoming_id(scope: Scope) -> str | None:
    text = _header(scope, b"x-request-id")
    return text if text is not None and _REQUEST_ID.match(text) else None


def _content_length(scope: Scope) -> int | None:
    text = _header(scope, b"content-length")
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _too_large(limit: int) -> Any:
    return error_response(
        413,
        PayloadTooLarge.code,
        f"the request body is larger than {limit} bytes",
        {"max_bytes": limit},
    )
