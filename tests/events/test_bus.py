"""The in-process bus: filters, replay after a reconnect, and cutting off a slow listener."""

from __future__ import annotations

import asyncio

from mugpos.events import Event, EventBus


def ev(kind: str, subject: str | None = None) -> Event:
    return Event(type=kind, source="api", subject=subject)  # type: ignore[arg-type]


def test_filters_replay_and_overflow() -> None:
    async def main() -> None:
        bus = EventBus(buffer=5)
        bus.bind(asyncio.get_running_loop())
        mine = bus.listen(frozenset({"rule_triggered"}), lambda e: e.subject in (None, "a"))
        for e in (ev("rule_triggered", "a"), ev("rule_triggered", "b"), ev("mug_detected", "a")):
            bus.publish(e)
        got = await mine.next(1)
        assert got is not None and got[1].subject == "a" and await mine.next(0.05) is None
        # From another thread, publishing hops onto the loop.
        await asyncio.to_thread(bus.publish, ev("rule_triggered"))
        got = await mine.next(1)
        assert got is not None and got[1].subject is None
        mine.close()
        last = got[0]
        bus.publish(ev("rule_triggered", "a"))  # missed while disconnected
        again = bus.listen(frozenset({"rule_triggered"}), after=last)
        replayed = await again.next(1)
        assert replayed is not None and replayed[0] == last + 1 and not again.gap
        for _ in range(10):
            bus.publish(ev("system_alert"))
        late = bus.listen(after=1)  # the buffer (5) no longer reaches back to 2
        assert late.gap
        slow = bus.listen(size=3)
        for _ in range(5):
            bus.publish(ev("system_alert"))
        assert slow.overflowed  # cut off, not grown without bound
        assert bus.listened_within(60)

    asyncio.run(main())
