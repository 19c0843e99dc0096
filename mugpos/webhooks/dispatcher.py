"""The webhook dispatcher: fans new log events out to subscriptions and delivers them, in order.

One process at a time delivers: it holds a lease (a document it renews with compare-and-swap)
and another process takes over only once the lease has expired, so deliveries of one
subscription are never sent twice at once or out of order, however many API workers run. Each
tick it

1. walks the event log from its cursor and queues a delivery per subscription that wants the
   event (idempotent: a crash mid-way queues nothing twice);
2. for every subscription whose oldest pending delivery is due, sends deliveries oldest first
   until one fails: a failure schedules that same delivery again (backoff, jitter) and holds the
   ones behind it, so a receiver always sees a subscription's events in log order;
3. every so often prunes delivered records and old events.

A delivery counts as delivered on a 2xx answer only. Delivery is at least once: a crash after
the receiver answered but before the outcome was written sends it again, with the same event
id (``X-Mugpos-Event-Id``) for the receiver to recognise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from mugpos.docstore import DocumentStore, DuplicateDocumentError
from mugpos.events.log import EventLog
from mugpos.events.types import StoredEvent, now_iso
from mugpos.webhooks import signing
from mugpos.webhooks.outbox import Attempt, Delivery, Outbox
from mugpos.webhooks.policy import RetryPolicy
from mugpos.webhooks.subscriptions import Subscription, SubscriptionStore

log = logging.getLogger(__name__)
STATE = "webhook_state"
_LEASE, _FANOUT = "dispatcher", "fanout"
USER_AGENT = "mugpos-webhooks/1"


class DeliveryError(Exception):
    """The request did not get an HTTP answer (refused target, DNS, connect, timeout)."""


class Transport(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
        """POST and return the answer's status; raise :class:`DeliveryError` without one."""
        ...


@dataclass
class DispatchStats:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    queued: int = 0
    ticks: int = 0
    leader: bool = False
    last_error: str | None = None


def event_body(event: StoredEvent) -> bytes:
    """What a receiver gets: the event (the same bytes on every attempt)."""
    fields = event.model_dump(mode="json", exclude={"origin"})
    return json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class Dispatcher:
    store: DocumentStore
    transport: Transport
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_s: float = 10.0
    poll_s: float = 0.5
    lease_s: float = 30.0
    retention: timedelta = timedelta(days=7)
    batch: int = 50  # deliveries per subscription per tick
    concurrency: int = 16  # subscriptions served at once
    owner: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    clock: Callable[[], float] = time.time
    stats: DispatchStats = field(default_factory=DispatchStats)

    def __post_init__(self) -> None:
        self.events = EventLog(self.store)
        self.outbox = Outbox(self.store)
        self.subscriptions = SubscriptionStore(self.store)
        self.state = self.store.collection(STATE)
        self._streak: dict[str, int] = {}  # failures in a row per subscription
        self._lease_until = 0.0
        self._pruned_at = 0.0

    # -- the loop ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set; gives the lease up on the way out."""
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception as exc:  # a store hiccup must not end delivery (logged)
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("webhook dispatcher tick failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_s)
        finally:
            await asyncio.to_thread(self.release)

    async def tick(self) -> None:
        self.stats.ticks += 1
        if not await asyncio.to_thread(self.hold_lease):
            self.stats.leader = False
            return
        self.stats.leader = True
        subs = await asyncio.to_thread(self.subscriptions.list)
        self.stats.queued += await asyncio.to_thread(self.fan_out, subs)
        gate = asyncio.Semaphore(self.concurrency)

        async def serve(sub: Subscription) -> None:
            async with gate:
                await self.deliver_due(sub)

        await asyncio.gather(*(serve(s) for s in subs if s.enabled))
        if self.clock() - self._pruned_at > 600:
            self._pruned_at = self.clock()
            await asyncio.to_thread(self.prune)

    # -- the lease --------------------------------------------------------------------------

    def hold_lease(self) -> bool:
        """Take or renew the dispatcher lease; False while another process holds it."""
        now = self.clock()
        mine = {"_id": _LEASE, "owner": self.owner, "until": now + self.lease_s}
        doc = self.state.get(_LEASE)
        if doc is None:
            try:
                self.state.insert(mine)
            except DuplicateDocumentError:
                return False
        elif doc.get("owner") == self.owner or float(doc.get("until", 0)) < now:
            if not self.state.replace_if(mine, {"owner": doc["owner"], "until": doc["until"]}):
                return False
        else:
            return False
        self._lease_until = mine["until"]
        return True

    def release(self) -> None:
        doc = self.state.get(_LEASE)
        if doc is not None and doc.get("owner") == self.owner:
            self.state.replace_if(
                {"_id": _LEASE, "owner": self.owner, "until": 0.0},
                {"owner": self.owner, "until": doc["until"]},
            )

    def _lease_left(self) -> float:
        return self._lease_until - self.clock()

    # -- fan-out ----------------------------------------------------------------------------

    def fan_out(self, subs: list[Subscription], limit: int = 500) -> int:
        """Queue deliveries for the events logged since the cursor; returns how many."""
        doc = self.state.get(_FANOUT)
        if doc is None:
            start = min((s.from_seq for s in subs), default=self.events.head())
            cursor = start
        else:
            cursor = int(doc["seq"])
        queued = 0
        events = self.events.read_after(cursor, limit)
        for event in events:
            for sub in subs:
                if sub.wants(event.type, event.seq):
                    queued += self.outbox.enqueue(sub.id, event, self.clock())
        if events or doc is None:
            last = events[-1].seq if events else cursor
            self.state.replace({"_id": _FANOUT, "seq": last})
        return queued

    # -- delivery ---------------------------------------------------------------------------

    async def deliver_due(self, sub: Subscription) -> None:
        """Send this subscription's due deliveries oldest first, stopping at a failure."""
        heads = await asyncio.to_thread(self.outbox.head, sub.id, self.batch)
        for d in heads:
            if d.next_attempt_at > self.clock():
                return
            # Never start a send the lease could run out during.
            if self._lease_left() < self.timeout_s + 1 and not await asyncio.to_thread(
                self.hold_lease
            ):
                return
            if not await self.deliver(sub, d):
                return

    async def deliver(self, sub: Subscription, d: Delivery) -> bool:
        """One attempt; True when delivered (or found finished already)."""
        if await asyncio.to_thread(self.outbox.already_finished, d):
            await asyncio.to_thread(self.outbox.pending.delete, d.id)
            return True
        event = await asyncio.to_thread(self.events.get, d.seq)
        if event is None:  # pruned before it could be sent: nothing left to send
            await asyncio.to_thread(self.outbox.finish, d, None, "dead")
            self.stats.dead += 1
            return True
        body = event_body(event)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            signing.EVENT_ID_HEADER: event.id,
            signing.EVENT_TYPE_HEADER: event.type,
            signing.DELIVERY_ID_HEADER: d.id,
            signing.ATTEMPT_HEADER: str(d.attempts + 1),
            **signing.sign([sub.secret], body, int(self.clock())),
        }
        started = time.perf_counter()
        status, error = None, None
        try:
            status = await self.transport.post(sub.url, body, headers, self.timeout_s)
        except DeliveryError as exc:
            error = str(exc)[:300]
        attempt = Attempt(
            at=now_iso(),
            status_code=status,
            error=error if error else (None if _ok(status) else f"HTTP {status}"),
            duration_ms=round((time.perf_counter() - started) * 1e3, 2),
        )
        if _ok(status):
            await asyncio.to_thread(self.outbox.finish, d, attempt, "delivered")
            self._streak.pop(sub.id, None)
            self.stats.delivered += 1
            return True
        self.stats.failed += 1
        streak = self._streak.get(sub.id, d.attempts) + 1
        self._streak[sub.id] = streak
        at = self.clock() + self.policy.delay(streak)
        if not self.policy.exhausted(d.attempts + 1):
            await asyncio.to_thread(self.outbox.retry_later, d, attempt, at)
            return False
        await asyncio.to_thread(self.outbox.finish, d, attempt, "dead")
        self.stats.dead += 1
        log.warning("webhook %s dead-lettered after %d attempts", d.id, d.attempts + 1)
        # The delivery behind it still waits out the endpoint's backoff.
        behind = await asyncio.to_thread(self.outbox.head, sub.id, 1)
        if behind:
            await asyncio.to_thread(self._postpone, behind[0], at)
        return False

    def _postpone(self, d: Delivery, at: float) -> None:
        if d.next_attempt_at < at:
            updated = d.model_copy(update={"next_attempt_at": at})
            self.outbox.pending.replace({"_id": d.id, **updated.model_dump(mode="json")})

    # -- housekeeping -----------------------------------------------------------------------

    def prune(self) -> None:
        """Drop delivered records and events past the retention, and pending deliveries of
        subscriptions that are gone. Events a cursor or a pending delivery needs stay."""
        cutoff = (datetime.now(UTC) - self.retention).isoformat(timespec="milliseconds")
        self.outbox.prune(cutoff)
        known = {s.id for s in self.subscriptions.list()}
        for doc in self.outbox.pending.find(limit=5000):
            if doc.get("subscription_id") not in known:
                self.outbox.pending.delete(str(doc["_id"]))
        cursor = self.state.get(_FANOUT)
        keep = int(cursor["seq"]) if cursor else 0
        oldest = self.outbox.pending.find(sort=[("seq", 1)], limit=1)
        if oldest:
            keep = min(keep, int(oldest[0]["seq"]) - 1)
        self.events.prune(self.retention, keep_above=keep)


def _ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300
