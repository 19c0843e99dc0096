"""Webhooks: subscriptions, signed deliveries from the durable event log, retries with
backoff and jitter, dead letters and replay (docs/integrations.md)."""

from mugpos.webhooks.dispatcher import DeliveryError, Dispatcher, Transport, event_body
from mugpos.webhooks.outbox import Delivery, DeliveryNotFound, Outbox
from mugpos.webhooks.policy import RetryPolicy
from mugpos.webhooks.subscriptions import Subscription, SubscriptionNotFound, SubscriptionStore

__all__ = [
    "Delivery",
    "DeliveryError",
    "DeliveryNotFound",
    "Dispatcher",
    "Outbox",
    "RetryPolicy",
    "Subscription",
    "SubscriptionNotFound",
    "SubscriptionStore",
    "Transport",
    "event_body",
]
