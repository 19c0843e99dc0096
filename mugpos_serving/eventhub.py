"""The API's side of events: every event goes to the live bus at once; the types some webhook
subscription wants are also written to the durable log, by a background writer, so a request
never waits on the store; and events other processes logged (Dagster alerts, other workers)
are read back from the log onto the bus.

Writes are batched (one thread hop for everything queued) and kept in memory while the store is
down, up to ``MAX_QUEUED``; a graceful stop writes what is queued before returning.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from mugpos.docstore import DocumentStore
from mugpos.events import Event, EventBus, EventLog
from mugpos.events.analysis import analysis_events
from mugpos.events.types import EventSource
from mugpos.settings import Settings
from mugpos.webhooks.subscriptions import SubscriptionStore

log = logging.getLogger(__name__)
MAX_QUEUED = 10_000
ANALYSIS_TYPES = frozenset({"positioning_analyzed", "mug_detected", "rule_triggered"})
_WANTED_TTL_S = 1.0
REPLAY_WINDOW_S = 120.0  # events are kept buffered this long after the last stream closed
_PARSE_INLINE_BELOW = 256 * 1024  # bigger answers are parsed on a thread


class EventHub:
    def __init__(self, settings: Settings, store: DocumentStore | None) -> None:
        self.settings = settings
        self.bus = EventBus(settings.events_buffer)
        self.log = EventLog(store) if store is not None else None
        self.subscriptions = (
            SubscriptionStore(store, settings.webhook_max_subscriptions) if store else None
        )
        self._wanted: frozenset[str] = frozenset()
        self._wanted_at = 0.0
        self._queue: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dropped = 0
        self.written = 0
        self.write_error: str | None = None

    # -- emitting ---------------------------------------------------------------------------

    def emit(self, events: Iterable[Event]) -> None:
        """Publish now; queue the durable ones. Safe from any thread."""
        events = list(events)
        loop = self._loop
        if loop is not None and not _on(loop):
            loop.call_soon_threadsafe(self.emit, events)
            return
        self.bus.publish_many(events)
        durable = [e for e in events if e.type in self._wanted]
        if durable and self.log is not None:
            if len(self._queue) + len(durable) > MAX_QUEUED:
                self.dropped += len(durable)
                log.error("event queue full: %d events not logged", len(durable))
                return
            self._queue.extend(durable)
            self._wake.set()

    def wants(self, types: frozenset[str]) -> bool:
        """Would an event of these types reach anyone (a live stream, one reconnecting soon,
        or a subscription)? Building analysis events is skipped when not."""
        return self.bus.listened_within(REPLAY_WINDOW_S) or bool(self._wanted & types)

    async def analysis(
        self, answer: bytes, subject: str | None, source: EventSource = "api"
    ) -> None:
        """The events of one served position answer (JSON bytes)."""
        if not self.wants(ANALYSIS_TYPES):
            return
        if len(answer) < _PARSE_INLINE_BELOW:
            parsed = json.loads(answer)
        else:
            parsed = await asyncio.to_thread(json.loads, answer)
        self.emit(analysis_events(parsed, source=source, subject=subject))

    async def batch(self, answer: bytes, subject: str | None) -> None:
        """Per image the analysis events, then one batch_completed."""
        types = ANALYSIS_TYPES | {"batch_completed"}
        if not self.wants(types):
            return
        parsed: dict[str, Any] = await asyncio.to_thread(json.loads, answer)
        events: list[Event] = []
        for item in parsed.get("results") or []:
            if item.get("ok") and item.get("result"):
                events += analysis_events(item["result"], subject=subject)
        errors = [
            {"index": i.get("index"), "code": (i.get("error") or {}).get("code")}
            for i in parsed.get("results") or []
            if not i.get("ok")
        ]
        events.append(
            Event(
                type="batch_completed",
                source="api",
                subject=subject,
                data={
                    "request_id": parsed.get("request_id"),
                    "images": len(parsed.get("results") or []),
                    "succeeded": parsed.get("succeeded"),
                    "failed": parsed.get("failed"),
                    "errors": errors[:50],
                },
            )
        )
        self.emit(events)

    # -- background work --------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.bus.bind(self._loop)
        if self.log is None:
            return
        await self.refresh_wanted()
        cursor = await asyncio.to_thread(self.log.head)
        self._tasks = [
            asyncio.create_task(self._writer(), name="mugpos-event-writer"),
            asyncio.create_task(self._tail(cursor), name="mugpos-event-tail"),
        ]

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Write what is queued (within ``timeout_s``), then stop."""
        deadline = time.monotonic() + timeout_s
        while self._queue and self.log is not None and time.monotonic() < deadline:
            if not await self._write_batch():
                await asyncio.sleep(0.1)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._queue:
            log.error(
                "%d events not logged at shutdown (the store did not answer)", len(self._queue)
            )

    async def refresh_wanted(self) -> None:
        """Re-read which event types enabled subscriptions want (the writer does it each
        second; a subscription change here does it at once)."""
        if self.subscriptions is None:
            return
        try:
            self._wanted = await asyncio.to_thread(self.subscriptions.wanted_types)
            self._wanted_at = time.monotonic()
        except Exception as exc:  # noqa: BLE001 - keep the last known set
            log.warning("reading webhook subscriptions failed: %s", exc)

    def invalidate(self) -> None:
        """Subscriptions changed here: refresh what is wanted on the next beat."""
        self._wanted_at = 0.0
        self._wake.set()

    async def _writer(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _WANTED_TTL_S)
            self._wake.clear()
            if time.monotonic() - self._wanted_at >= _WANTED_TTL_S:
                await self.refresh_wanted()
            while self._queue:
                if not await self._write_batch():
                    await asyncio.sleep(1.0)  # the store is down: keep the events, try again

    async def _write_batch(self, size: int = 256) -> bool:
        assert self.log is not None
        batch = [self._queue[i] for i in range(min(size, len(self._queue)))]
        try:
            await asyncio.to_thread(self.log.append_many, batch, self.bus.instance)
        except Exception as exc:  # noqa: BLE001 - retried; reported in /readyz
            self.write_error = f"{type(exc).__name__}: {exc}"
            log.warning("writing %d events failed: %s", len(batch), exc)
            return False
        for _ in batch:
            self._queue.popleft()
        self.written += len(batch)
        self.write_error = None
        return True

    async def _tail(self, cursor: int) -> None:
        """Publish events other processes wrote to the log."""
        assert self.log is not None
        while True:
            await asyncio.sleep(self.settings.webhook_poll_s)
            try:
                events = await asyncio.to_thread(self.log.read_after, cursor, 500)
            except Exception as exc:  # noqa: BLE001 - try again next beat
                log.warning("reading the event log failed: %s", exc)
                continue
            for event in events:
                cursor = event.seq
                if event.origin != self.bus.instance:
                    self.bus.publish(Event(**event.model_dump(exclude={"seq", "origin"})))

    def describe(self) -> dict[str, Any]:
        return {
            "listeners": self.bus.listeners,
            "published": self.bus.published,
            "logged": self.written,
            "queued": len(self._queue),
            "dropped": self.dropped,
            "webhook_types": sorted(self._wanted),
            "write_error": self.write_error,
        }


def _on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
