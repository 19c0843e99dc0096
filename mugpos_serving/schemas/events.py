"""GET /v1/events: one server-sent event per platform event."""

from __future__ import annotations

from mugpos.events.types import Event


class EventOut(Event):
    """The ``data:`` of each SSE frame (``event:`` is the type, ``id:`` the stream position)."""
