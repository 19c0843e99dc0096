"""Webhook subscriptions and deliveries: what admins send and get back."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mugpos.events.types import EventType
from mugpos.webhooks.outbox import Attempt, Delivery
from mugpos.webhooks.subscriptions import Subscription

_EXAMPLE_URL = "https://n8n.example.com/webhook/mugpos"


def _check_url(value: str) -> str:
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError("the URL must be http:// or https://")
    return value


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": _EXAMPLE_URL,
                    "event_types": ["rule_triggered", "system_alert"],
                    "description": "n8n: alert the desk channel",
                }
            ]
        },
    )

    url: str = Field(min_length=8, max_length=2048, description="Where deliveries are POSTed.")
    event_types: list[EventType] = Field(min_length=1, max_length=7)
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="Signing secret; default: a new random one (shown once, in the answer).",
    )
    description: str | None = Field(default=None, max_length=500)
    enabled: bool = True

    _url = field_validator("url")(_check_url)


class SubscriptionChanges(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"enabled": False}, {"rotate_secret": True}]},
    )

    url: str | None = Field(default=None, min_length=8, max_length=2048)
    event_types: list[EventType] | None = Field(default=None, min_length=1, max_length=7)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None
    rotate_secret: bool = Field(default=False, description="A new secret, shown once.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value)


class SubscriptionOut(BaseModel):
    id: str
    url: str
    event_types: list[EventType]
    enabled: bool
    description: str | None
    created_at: str
    updated_at: str
    secret_hint: str = Field(description="The secret's first characters (it is never shown).")
    secret: str | None = Field(
        default=None, description="The full secret: only in the answer that created it."
    )

    @classmethod
    def of(cls, sub: Subscription, *, with_secret: bool = False) -> SubscriptionOut:
        return cls(
            id=sub.id,
            url=sub.url,
            event_types=list(sub.event_types),
            enabled=sub.enabled,
            description=sub.description,
            created_at=sub.created_at,
            updated_at=sub.updated_at,
            secret_hint=sub.secret_hint,
            secret=sub.secret if with_secret else None,
        )


class DeliveryOut(BaseModel):
    id: str
    subscription_id: str
    event_id: str
    event_type: str
    seq: int
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: float | None = Field(description="Unix time of the next try (pending).")
    created_at: str
    finished_at: str | None
    replayed: int
    history: list[Attempt] = Field(description="The last attempts, oldest first.")

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            **d.model_dump(exclude={"next_attempt_at"}),
            next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
        )


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "dead"}]})
    status: Literal["dead", "delivered"] = Field(
        default="dead", description="Queue again every finished delivery with this status."
    )
    limit: int = Field(default=1000, ge=1, le=10_000)


class ReplayResponse(BaseModel):
    replayed: int
    delivery_ids: list[str]
