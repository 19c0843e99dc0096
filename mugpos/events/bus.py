"""The in-process event bus: live listeners (the event streams) and a short replay buffer.

Publishing never blocks: each listener has a bounded queue, and a listener that falls that far
behind is cut off (its stream ends and the client reconnects, replaying from the buffer), so a
slow client cannot hold memory or the publisher. ``publish`` may be called from any thread; the
fan-out always runs on the bus's event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable

from mugpos.events.types import Event

Visible = Callable[[Event], bool]


class Listener:
    """One consumer: events that pass its filter, in order, with their bus sequence numbers."""

    def __init__(self, bus: EventBus, types: frozenset[str] | None, visible: Visible, size: int):
        self.bus = bus
        self.types = types
        self.visible = visible
        self.queue: asyncio.Queue[tuple[int, Event]] = asyncio.Queue(size)
        self.overflowed = False
        self.gap = False  # the replay asked for events the buffer no longer holds

    def wants(self, event: Event) -> bool:
        return (self.types is None or event.type in self.types) and self.visible(event)

    def offer(self, n: int, event: Event) -> None:
        if self.overflowed or not self.wants(event):
            return
        try:
            self.queue.put_nowait((n, event))
        except asyncio.QueueFull:
            self.overflowed = True

    async def next(self, timeout_s: float) -> tuple[int, Event] | None:
        """The next event, or None after ``timeout_s`` without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout_s)
        except TimeoutError:
            return None

    def close(self) -> None:
        self.bus._listeners.discard(self)
        self.bus.listened_at = time.monotonic()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    def __init__(self, buffer: int = 1000, instance: str | None = None) -> None:
        self.instance = instance or uuid.uuid4().hex[:12]
        self._recent: deque[tuple[int, Event]] = deque(maxlen=buffer)
        self._counter = itertools.count(1)
        self._listeners: set[Listener] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.published = 0
        self.listened_at = -1e9  # monotonic time a listener last came or went

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop listeners live on (the app's); set at start-up."""
        self._loop = loop

    @property
    def last(self) -> int:
        return self._recent[-1][0] if self._recent else 0

    def publish(self, event: Event) -> None:
        loop = self._loop
        if loop is None:
            self._fan_out(event)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._fan_out(event)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._fan_out, event)

    def publish_many(self, events: Iterable[Event]) -> None:
        for event in events:
            self.publish(event)

    def _fan_out(self, event: Event) -> None:
        n = next(self._counter)
        self._recent.append((n, event))
        self.published += 1
        for listener in list(self._listeners):
            listener.offer(n, event)

    def listen(
        self,
        types: frozenset[str] | None = None,
        visible: Visible = lambda _: True,
        *,
        after: int | None = None,
        size: int = 256,
    ) -> Listener:
        """A listener receiving events from now on; with ``after``, first the buffered events
        numbered above it (a reconnect). Call on the bus's loop."""
        listener = Listener(self, types, visible, size)
        if after is not None:
            listener.gap = bool(self._recent) and after + 1 < self._recent[0][0]
            for n, event in self._recent:
                if n > after:
                    listener.offer(n, event)
        self._listeners.add(listener)
        self.listened_at = time.monotonic()
        return listener

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def listened_within(self, seconds: float) -> bool:
        """A listener is connected, or was within ``seconds`` (it may be about to reconnect
        and replay: what happens meanwhile must reach the buffer)."""
        return bool(self._listeners) or time.monotonic() - self.listened_at < seconds
