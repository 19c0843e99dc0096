"""The durable event log: dense sequence numbers under concurrent writers, reading from a
cursor, pruning from the bottom."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from mugpos.docstore import DocumentStore
from mugpos.events import Event, EventLog


def alert(n: int) -> Event:
    return Event(type="system_alert", source="dagster", data={"n": n})


def test_writers_in_parallel_get_a_dense_gapless_sequence(
    opener: Callable[[], DocumentStore],
) -> None:
    stores = [opener() for _ in range(3)]  # three connections: three processes' view
    logs = [EventLog(s) for s in stores]
    written: list[list[int]] = [[] for _ in logs]

    def write(i: int) -> None:
        for n in range(15):
            written[i].append(logs[i].append(alert(100 * i + n), f"w{i}").seq)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = sorted(s for w in written for s in w)
    assert seqs == list(range(1, 46))  # no gap, no number given twice
    for w in written:
        assert w == sorted(w)  # each writer's events in its own order
    reader = EventLog(opener())
    events = reader.read_after(0, limit=100)
    assert [e.seq for e in events] == seqs and reader.head() == 45
    by_writer = {e.origin for e in events}
    assert by_writer == {"w0", "w1", "w2"}
    assert [e.seq for e in reader.read_after(40)] == [41, 42, 43, 44, 45]
    assert reader.read_after(45) == []
    for s in stores:
        s.close()


def test_events_round_trip_and_prune_from_the_bottom(store: DocumentStore) -> None:
    log = EventLog(store)
    first = log.append_many([alert(i) for i in range(5)], "me")
    assert [e.seq for e in first] == [1, 2, 3, 4, 5]
    got = log.get(3)
    assert got is not None and got.id == first[2].id and got.data == {"n": 2}
    assert log.prune(timedelta(days=1)) == 0  # nothing is old enough
    everything = timedelta(seconds=-60)  # a cutoff in the future: every event is "old"
    assert log.prune(everything, keep_above=3) == 3  # never above the cursor that needs them
    assert log.floor() == 3 and [e.seq for e in log.read_after(0)] == [4, 5]
    assert log.append(alert(9), "me").seq == 6
    assert log.prune(everything) == 3 and log.head() == 6 and log.read_after(0) == []
    assert EventLog(store).append(alert(10), "other").seq == 7  # a fresh writer continues
