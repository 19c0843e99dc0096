"""GET /v1/events: the live event stream, as Server-Sent Events.

SSE rather than a WebSocket because the stream only flows one way (server to client): it is
plain HTTP, so the same bearer token, scopes, rate limit, error shape and middleware apply as
everywhere else; it passes proxies that speak HTTP; ``curl -N`` reads it; and reconnecting with
``Last-Event-ID`` is part of the protocol, which is how a stream survives its own time limit.

Each stream lives at most ``MUGPOS_EVENTS_STREAM_MAX_S`` (kept under the request timeout: no
request holds a worker without bound). It ends with a ``retry`` hint; the client reconnects with
the last ``id`` it saw and gets what happened in between from the replay buffer (an ``gap``
event says when the buffer no longer reached back that far). A client too slow to keep up
(256 events behind) is cut off the same way. Callers see their own analyses and every platform
event; admins see everything.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterable
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from mugpos.events.types import Event, EventType
from mugpos_serving.deps import PositionsCaller
from mugpos_serving.integrations import get_integrations
from mugpos_serving.schemas.common import error_responses

router = APIRouter(prefix="/v1/events", tags=["events"])
RETRY_MS = 1000
_MARGIN_S = 2.0  # the stream ends this long before the request timeout would cut it


@router.get(
    "",
    response_class=EventSourceResponse,
    responses=error_responses(401, 403, 422, 429, 503),
    summary="Live events (Server-Sent Events)",
)
async def stream(
    request: Request,
    principal: PositionsCaller,
    type_: Annotated[
        list[EventType] | None,
        Query(alias="type", description="Only these types (repeatable); default: all."),
    ] = None,
    last_event_id: Annotated[
        str | None, Header(max_length=64, description="Resume after this event id.")
    ] = None,
) -> AsyncIterable[ServerSentEvent]:
    """``event:`` is the event type, ``data:`` the event as JSON, ``id:`` its place in this
    server's stream (send it back as ``Last-Event-ID`` to resume)."""
    integ = get_integrations(request)
    bus = integ.hub.bus
    settings = integ.settings
    types = frozenset(type_) if type_ else None
    admin = principal.allows("admin")
    subject = principal.subject

    def visible(event: Event) -> bool:
        return admin or event.subject is None or event.subject == subject

    after = None
    resumed_elsewhere = False
    if last_event_id:
        instance, _, n = last_event_id.rpartition("-")
        if instance == bus.instance and n.isdigit():
            after = int(n)
        else:
            resumed_elsewhere = True
    lifetime = min(settings.events_stream_max_s, settings.request_timeout_s - _MARGIN_S)
    deadline = time.monotonic() + max(1.0, lifetime)
    with bus.listen(types, visible, after=after) as listener:
        yield ServerSentEvent(comment="mugpos events", retry=RETRY_MS)
        if listener.gap or resumed_elsewhere:
            reason = "buffer" if listener.gap else "another server process"
            yield ServerSentEvent(
                event="gap",
                raw_data=json.dumps({"after": last_event_id, "reason": reason}),
            )
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or listener.overflowed:
                yield ServerSentEvent(
                    event="reconnect",
                    raw_data=json.dumps({"reason": "overflow" if listener.overflowed else "time"}),
                    retry=RETRY_MS,
                )
                return
            item = await listener.next(min(left, 5.0))
            if item is None:
                if await request.is_disconnected():
                    return
                continue
            n, event = item
            yield ServerSentEvent(
                event=event.type, id=f"{bus.instance}-{n}", raw_data=event.model_dump_json()
            )
