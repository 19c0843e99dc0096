"""error_occurred events: every API answer with a 5xx status (but 501, which says the served
models cannot do what was asked, not that something broke), seen at the edge of the app.

An outer ASGI wrapper, so it sees the final status whichever layer answered (a route, the
error handlers, the timeout, the last-resort 500), and reads only the small error body of
those answers. The caller's subject comes from the token the request carried.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mugpos.events.types import Event

API_PREFIX = "/v1/"
MAX_ERROR_BODY = 8192


class ErrorEvents:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        status = 0
        request_id: str | None = None
        body = bytearray()

        async def watch(message: Message) -> None:
            nonlocal status, request_id
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"x-request-id":
                        request_id = value.decode("latin-1")
            elif message["type"] == "http.response.body" and status >= 500 and status != 501:
                if len(body) < MAX_ERROR_BODY:
                    body.extend(message.get("body", b"")[: MAX_ERROR_BODY - len(body)])
                if not message.get("more_body", False):
                    _emit(scope, status, request_id, bytes(body))
            await send(message)

        await self.app(scope, receive, watch)


def _emit(scope: Scope, status: int, request_id: str | None, body: bytes) -> None:
    app = scope.get("app")
    integ = getattr(getattr(app, "state", None), "integrations", None)
    if integ is None:
        return
    try:
        error = json.loads(body).get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    route = scope.get("route")
    data: dict[str, Any] = {
        "request_id": request_id,
        "method": scope.get("method"),
        "route": getattr(route, "path", None) or scope["path"][:200],
        "status": status,
        "code": error.get("code"),
        "message": str(error.get("message") or "")[:500],
    }
    integ.hub.emit(
        [Event(type="error_occurred", source="api", subject=integ.subject_of(scope), data=data)]
    )
