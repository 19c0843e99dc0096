"""One pure-ASGI middleware for what every request needs (cheaper than a stack of them):

* a request id (``X-Request-ID`` in, if well formed, and always out);
* the body size limit: a declared ``Content-Length`` over it is answered 413 before reading,
  and a chunked body is cut off the moment it passes the limit;
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

from mugpos_serving.errors import PayloadTooLarge, error_response, internal_error_response
from mugpos_serving.metrics import Metrics

log = logging.getLogger(__name__)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,80}$")


class ServingMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body_bytes: int,
        timeout_s: float,
        timed_prefix: str = "/v1/",
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.timeout_s = timeout_s
        self.timed_prefix = timed_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                present = {name.lower() for name, _ in headers}
                for k, v in state.get("extra_headers", {}).items():
                    name = k.lower().encode()
                    if name not in present:
                        headers.append((name, v.encode()))
                message = {**message, "headers": headers}
            await send(message)

        async def reply(response: Any) -> None:
            await response(scope, receive, send_wrapper)

        try:
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                await reply(_too_large(self.max_body_bytes))
                return
            limited = _limit_body(receive, self.max_body_bytes)
            if scope["path"].startswith(self.timed_prefix):
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
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not response_started:
                await reply(internal_error_response())
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        labels = (scope.get("method", "?"), template, str(status))
        self.metrics.requests.labels(*labels).inc()
        self.metrics.latency.labels(*labels).observe(seconds)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID.match(text) else None
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> Any:
    return error_response(
        413,
        PayloadTooLarge.code,
        f"the request body is larger than {limit} bytes",
        {"max_bytes": limit},
    )


def _limit_body(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises :class:`PayloadTooLarge` once the body passes ``limit`` bytes."""
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge(
                    f"the request body is larger than {limit} bytes", details={"max_bytes": limit}
                )
        return message

    return limited
