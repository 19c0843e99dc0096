"""Webhook subscriptions in the document store: a target URL, a secret, the event types.

A subscription receives the events logged after it was created (``from_seq``), of its types,
while it is enabled. Its secret is stored (every delivery is signed with it) but never shown
again after creation or rotation; listings show a short hint instead.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mugpos.docstore import DocumentStore
from mugpos.errors import MugposError
from mugpos.events.types import EventType, now_iso

SUBSCRIPTIONS = "webhook_subscriptions"
ID_PATTERN = r"^whk_[0-9a-f]{16}$"


class SubscriptionNotFound(MugposError):
    code = "subscription_not_found"


class SubscriptionLimit(MugposError):
    code = "subscription_limit"


class Subscription(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(pattern=ID_PATTERN)
    url: str
    secret: str = Field(repr=False)
    event_types: tuple[EventType, ...] = Field(min_length=1)
    enabled: bool = True
    description: str | None = None
    created_at: str
    updated_at: str
    from_seq: int = Field(ge=0, description="Events numbered above this are delivered.")

    @field_validator("event_types")
    @classmethod
    def _unique(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v))

    @property
    def secret_hint(self) -> str:
        return self.secret[:10] + "…"

    def wants(self, event_type: str, seq: int) -> bool:
        return self.enabled and seq > self.from_seq and event_type in self.event_types


def new_subscription_id() -> str:
    return f"whk_{uuid.uuid4().hex[:16]}"


class SubscriptionStore:
    def __init__(self, store: DocumentStore, max_subscriptions: int = 100) -> None:
        self.coll = store.collection(SUBSCRIPTIONS)
        self.max_subscriptions = max_subscriptions

    def list(self) -> list[Subscription]:
        return [Subscription.model_validate(d) for d in self.coll.find(sort=[("created_at", 1)])]

    def get(self, sub_id: str) -> Subscription:
        doc = self.coll.get(sub_id)
        if doc is None:
            raise SubscriptionNotFound(
                f"no webhook subscription {sub_id!r}", details={"subscription_id": sub_id}
            )
        return Subscription.model_validate(doc)

    def create(
        self,
        *,
        url: str,
        secret: str,
        event_types: tuple[str, ...],
        from_seq: int,
        enabled: bool = True,
        description: str | None = None,
    ) -> Subscription:
        if self.coll.count() >= self.max_subscriptions:
            raise SubscriptionLimit(
                f"at most {self.max_subscriptions} webhook subscriptions "
                "(MUGPOS_WEBHOOK_MAX_SUBSCRIPTIONS)",
                details={"max": self.max_subscriptions},
            )
        now = now_iso()
        sub = Subscription(
            id=new_subscription_id(),
            url=url,
            secret=secret,
            event_types=event_types,  # type: ignore[arg-type]
            enabled=enabled,
            description=description,
            created_at=now,
            updated_at=now,
            from_seq=from_seq,
        )
        self.coll.insert({"_id": sub.id, **sub.model_dump(mode="json")})
        return sub

    def update(self, sub_id: str, changes: dict[str, Any]) -> Subscription:
        current = self.get(sub_id)
        merged = {**current.model_dump(mode="json"), **changes, "updated_at": now_iso()}
        sub = Subscription.model_validate(merged)
        self.coll.replace({"_id": sub.id, **sub.model_dump(mode="json")})
        return sub

    def delete(self, sub_id: str) -> None:
        if not self.coll.delete(sub_id):
            raise SubscriptionNotFound(
                f"no webhook subscription {sub_id!r}", details={"subscription_id": sub_id}
            )

    def wanted_types(self) -> frozenset[str]:
        """Event types at least one enabled subscription receives."""
        return frozenset(t for s in self.list() if s.enabled for t in s.event_types)
