"""Deliveries: one per (subscription, event), pending until sent, then kept in the log.

``webhook_pending`` holds what still has to go out, so the dispatcher's queries stay small
however long the history grows; ``webhook_deliveries`` holds the outcome of every delivery that
finished (``delivered`` or ``dead``), with its last attempts. A delivery's id is
``<subscription id>:<event seq, zero padded>``: creating it twice is a no-op, and ids sort in
the order events must be sent.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mugpos.docstore import DocumentStore, DuplicateDocumentError
from mugpos.errors import MugposError
from mugpos.events.types import StoredEvent, now_iso

PENDING = "webhook_pending"
DELIVERIES = "webhook_deliveries"
MAX_HISTORY = 10  # attempts kept per delivery
Status = Literal["pending", "delivered", "dead"]


class DeliveryNotFound(MugposError):
    code = "delivery_not_found"


class Attempt(BaseModel):
    model_config = ConfigDict(frozen=True)
    at: str
    status_code: int | None = Field(description="The receiver's HTTP status; None: no answer.")
    error: str | None = None
    duration_ms: float


class Delivery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    subscription_id: str
    seq: int
    event_id: str
    event_type: str
    status: Status
    attempts: int = 0
    next_attempt_at: float = Field(description="Unix time of the next try (pending only).")
    created_at: str
    finished_at: str | None = None
    replayed: int = Field(default=0, description="Times an operator sent it again.")
    history: list[Attempt] = Field(default_factory=list)


def delivery_id(sub_id: str, seq: int) -> str:
    return f"{sub_id}:{seq:016d}"


class Outbox:
    def __init__(self, store: DocumentStore) -> None:
        self.pending = store.collection(PENDING)
        self.log = store.collection(DELIVERIES)

    def enqueue(self, sub_id: str, event: StoredEvent, now: float | None = None) -> bool:
        """Queue ``event`` for ``sub_id``; False if it was queued (or delivered) before."""
        did = delivery_id(sub_id, event.seq)
        if self.log.get(did) is not None:
            return False
        doc = Delivery(
            id=did,
            subscription_id=sub_id,
            seq=event.seq,
            event_id=event.id,
            event_type=event.type,
            status="pending",
            next_attempt_at=time.time() if now is None else now,
            created_at=now_iso(),
        ).model_dump(mode="json")
        try:
            self.pending.insert({"_id": did, **doc})
        except DuplicateDocumentError:
            return False
        return True

    def head(self, sub_id: str, limit: int = 1) -> list[Delivery]:
        """The oldest pending deliveries of a subscription, in event order."""
        docs = self.pending.find({"subscription_id": sub_id}, sort=[("seq", 1)], limit=limit)
        return [Delivery.model_validate(d) for d in docs]

    def retry_later(self, d: Delivery, attempt: Attempt, at: float) -> Delivery:
        updated = d.model_copy(
            update={
                "attempts": d.attempts + 1,
                "next_attempt_at": at,
                "history": [*d.history, attempt][-MAX_HISTORY:],
            }
        )
        self.pending.replace({"_id": d.id, **updated.model_dump(mode="json")})
        return updated

    def finish(self, d: Delivery, attempt: Attempt | None, status: Status) -> Delivery:
        """Move a delivery to the log as delivered or dead (log first: a crash in between
        leaves a pending copy that ``enqueue`` and the dispatcher recognise as finished)."""
        history = [*d.history, attempt][-MAX_HISTORY:] if attempt else d.history
        done = d.model_copy(
            update={
                "status": status,
                "attempts": d.attempts + (1 if attempt else 0),
                "finished_at": now_iso(),
                "history": history,
            }
        )
        self.log.replace({"_id": d.id, **done.model_dump(mode="json")})
        self.pending.delete(d.id)
        return done

    def already_finished(self, d: Delivery) -> bool:
        return self.log.get(d.id) is not None

    def replay(self, did: str, now: float | None = None) -> Delivery:
        """Queue a finished delivery again (from attempt 0), e.g. a dead letter after the
        receiver was fixed."""
        doc = self.log.get(did)
        if doc is None:
            queued = self.pending.get(did)
            if queued is not None:  # still pending: nothing to do
                return Delivery.model_validate(queued)
            raise DeliveryNotFound(f"no delivery {did!r}", details={"delivery_id": did})
        d = Delivery.model_validate(doc)
        again = d.model_copy(
            update={
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": time.time() if now is None else now,
                "finished_at": None,
                "replayed": d.replayed + 1,
            }
        )
        self.pending.replace({"_id": did, **again.model_dump(mode="json")})
        self.log.delete(did)
        return again

    def list(self, sub_id: str, status: Status | None, limit: int) -> list[Delivery]:
        """Newest first."""
        out: list[dict[str, Any]] = []
        if status in (None, "pending"):
            out += self.pending.find({"subscription_id": sub_id}, sort=[("seq", -1)], limit=limit)
        if status != "pending":
            flt: dict[str, Any] = {"subscription_id": sub_id}
            if status is not None:
                flt["status"] = status
            out += self.log.find(flt, sort=[("seq", -1)], limit=limit)
        deliveries = sorted((Delivery.model_validate(d) for d in out), key=lambda d: -d.seq)
        return deliveries[:limit]

    def get(self, did: str) -> Delivery:
        doc = self.pending.get(did) or self.log.get(did)
        if doc is None:
            raise DeliveryNotFound(f"no delivery {did!r}", details={"delivery_id": did})
        return Delivery.model_validate(doc)

    def drop_subscription(self, sub_id: str) -> int:
        return self.pending.delete_many({"subscription_id": sub_id}) + self.log.delete_many(
            {"subscription_id": sub_id}
        )

    def prune(self, before_iso: str, batch: int = 1000) -> int:
        """Delete delivered records finished before ``before_iso`` (dead letters stay until
        replayed or their subscription goes)."""
        old = self.log.find({"status": "delivered"}, sort=[("finished_at", 1)], limit=batch)
        gone = 0
        for doc in old:
            if str(doc.get("finished_at") or "") >= before_iso:
                break
            gone += self.log.delete(str(doc["_id"]))
        return gone
