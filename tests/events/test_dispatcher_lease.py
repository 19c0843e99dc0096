"""One dispatcher delivers at a time; another takes over only when its lease has expired. The
fan-out queues each event once per subscription that wants it."""

from __future__ import annotations

from collections.abc import Callable

from mugpos.docstore import DocumentStore
from mugpos.events import Event, EventLog
from mugpos.webhooks import Dispatcher, Outbox, SubscriptionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class NoTransport:
    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
        raise AssertionError("these tests deliver nothing")


def test_only_one_dispatcher_holds_the_lease_until_it_expires(
    opener: Callable[[], DocumentStore],
) -> None:
    clock = Clock()
    a = Dispatcher(opener(), NoTransport(), lease_s=10, owner="a", clock=clock)
    b = Dispatcher(opener(), NoTransport(), lease_s=10, owner="b", clock=clock)
    assert a.hold_lease() and not b.hold_lease()
    clock.now += 5
    assert a.hold_lease() and not b.hold_lease()  # renewed
    clock.now += 11  # a died: its lease ran out
    assert b.hold_lease() and not a.hold_lease()
    b.release()  # a graceful stop hands it over at once
    assert a.hold_lease()


def test_fan_out_queues_each_wanted_event_once(store: DocumentStore) -> None:
    log, subs = EventLog(store), SubscriptionStore(store)
    log.append(Event(type="rule_triggered", source="api"), "x")  # before any subscription
    wants = subs.create(
        url="http://r/1", secret="s" * 20, event_types=("rule_triggered",), from_seq=log.head()
    )
    other = subs.create(
        url="http://r/2", secret="s" * 20, event_types=("system_alert",), from_seq=log.head()
    )
    off = subs.create(
        url="http://r/3",
        secret="s" * 20,
        event_types=("rule_triggered",),
        from_seq=log.head(),
        enabled=False,
    )
    for kind in ("rule_triggered", "system_alert", "rule_triggered", "mug_detected"):
        log.append(Event(type=kind, source="api"), "x")  # type: ignore[arg-type]
    d = Dispatcher(store, NoTransport())
    current = subs.list()
    assert d.fan_out(current) == 3
    assert d.fan_out(current) == 0  # the cursor moved on
    outbox = Outbox(store)
    assert [x.seq for x in outbox.head(wants.id, 10)] == [2, 4]
    assert [x.seq for x in outbox.head(other.id, 10)] == [3]
    assert outbox.head(off.id, 10) == []
    event = log.get(2)
    assert event is not None and not outbox.enqueue(wants.id, event)  # already queued
