"""The durable event log in the document store: the outbox that webhooks are delivered from.

Each event gets a dense, increasing sequence number: its document id is the number, zero
padded, and a writer claims the next one by inserting it (the store refuses a second insert of
the same id), so several processes (the API, Dagster runs, the CLI) can append at once with no
gap and no lock. Readers walk the log by id from a cursor, which both backends answer from
their primary key. Old events are pruned from the bottom; ``floor`` remembers how far.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from mugpos.docstore import Collection, DocumentStore, DuplicateDocumentError
from mugpos.events.types import Event, StoredEvent

EVENTS = "events"
EVENTS_META = "events_meta"
_FLOOR = "floor"
_MAX_RACES = 16  # inserts lost to other writers before the head is read again


def _doc_id(seq: int) -> str:
    return f"{seq:016d}"


class EventLog:
    def __init__(self, store: DocumentStore) -> None:
        self.events: Collection = store.collection(EVENTS)
        self.meta: Collection = store.collection(EVENTS_META)
        self._head: int | None = None  # the highest seq this process knows to exist
        self._lock = threading.Lock()

    def head(self) -> int:
        """The last sequence number in the log (0 when it is empty).

        Numbers are dense above the floor, so "event n exists" is true up to the head and false
        after it: a galloping then binary search finds it in O(log n) primary-key reads, where
        sorting on a field would scan the whole collection.
        """
        known = self.floor()
        step = 1
        while self.events.get(_doc_id(known + step)) is not None:
            known += step
            step *= 2
        missing = known + step  # known exists (or is the floor), missing does not
        while missing - known > 1:
            mid = (known + missing) // 2
            if self.events.get(_doc_id(mid)) is not None:
                known = mid
            else:
                missing = mid
        return known

    def floor(self) -> int:
        """Every event at or below this number has been pruned."""
        doc = self.meta.get(_FLOOR)
        return int(doc["seq"]) if doc else 0

    def append(self, event: Event, origin: str) -> StoredEvent:
        return self.append_many([event], origin)[0]

    def append_many(self, events: Sequence[Event], origin: str) -> list[StoredEvent]:
        """Store the events in order, each under the next free sequence number."""
        out: list[StoredEvent] = []
        with self._lock:
            seq = self._head if self._head is not None else self.head()
            for event in events:
                seq = self._insert(event, origin, seq + 1)
                out.append(StoredEvent(**event.model_dump(), seq=seq, origin=origin))
            self._head = seq
        return out

    def _insert(self, event: Event, origin: str, seq: int) -> int:
        body = event.model_dump(mode="json")
        for _ in range(8):
            for _ in range(_MAX_RACES):
                try:
                    self.events.insert({**body, "_id": _doc_id(seq), "seq": seq, "origin": origin})
                    return seq
                except DuplicateDocumentError:
                    seq += 1  # another writer took it: the next one
            seq = self.head() + 1
        raise DuplicateDocumentError("could not claim a sequence number in the event log")

    def get(self, seq: int) -> StoredEvent | None:
        doc = self.events.get(_doc_id(seq))
        return _stored(doc) if doc else None

    def read_after(self, seq: int, limit: int = 200) -> list[StoredEvent]:
        """Events numbered above ``seq``, oldest first, at most ``limit``."""
        out: list[StoredEvent] = []
        n = max(seq, self.floor()) + 1
        while len(out) < limit:
            event = self.get(n)
            if event is None:
                break
            out.append(event)
            n += 1
        return out

    def prune(self, older_than: timedelta, keep_above: int | None = None) -> int:
        """Delete events older than ``older_than`` from the bottom of the log, never above
        ``keep_above`` (a cursor that still needs them). Returns how many went."""
        cutoff = (datetime.now(UTC) - older_than).isoformat(timespec="milliseconds")
        floor = self.floor()
        n = floor + 1
        while keep_above is None or n <= keep_above:
            event = self.get(n)
            if event is None or event.created_at >= cutoff:
                break
            self.events.delete(_doc_id(n))
            n += 1
        if n - 1 > floor:
            self.meta.replace({"_id": _FLOOR, "seq": n - 1})
        return n - 1 - floor


def _stored(doc: dict[str, object]) -> StoredEvent:
    return StoredEvent.model_validate({k: v for k, v in doc.items() if k != "_id"})
