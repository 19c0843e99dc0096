"""Platform events: one shape (:mod:`.types`), a live in-process bus (:mod:`.bus`) and the
durable log in the document store that webhooks are delivered from (:mod:`.log`)."""

from mugpos.events.bus import EventBus, Listener
from mugpos.events.log import EventLog
from mugpos.events.types import EVENT_TYPES, Event, EventType, StoredEvent

__all__ = ["EVENT_TYPES", "Event", "EventBus", "EventLog", "EventType", "Listener", "StoredEvent"]
