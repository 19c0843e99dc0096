"""What happens on the platform, as one event shape for the live stream, webhooks and the log.

Every event has a stable id (``evt_…``, what receivers deduplicate on), a type, when it
happened, which side emitted it and, for events about one caller's request, that caller's
subject: a live stream shows a caller their own analyses and every platform event (model swaps,
alerts); webhooks, set up by admins, get them all.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

EventType = Literal[
    "mug_detected",
    "positioning_analyzed",
    "rule_triggered",
    "batch_completed",
    "model_updated",
    "error_occurred",
    "system_alert",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
EventSource = Literal["api", "dagster", "cli"]

DESCRIPTIONS: dict[str, str] = {
    "mug_detected": "an analysis found one or more mugs (their boxes, zones, scores)",
    "positioning_analyzed": "an analysis was served (scene score or why not, counts, models)",
    "rule_triggered": "an analysis found rule violations (each mug, rule, measured vs required)",
    "batch_completed": "a batch request finished (images, succeeded, failed)",
    "model_updated": "the served models changed (API swap) or a new manifest was written",
    "error_occurred": "a request failed on the server's side (5xx)",
    "system_alert": "a platform job failed: an asset check, a backup, an index build, a run",
}


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Event(BaseModel):
    """One event; ``data`` is JSON (its fields per type are listed in docs/integrations.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=new_event_id, pattern=r"^evt_[0-9a-f]{32}$")
    type: EventType
    created_at: str = Field(default_factory=now_iso)
    source: EventSource
    subject: str | None = Field(
        default=None, description="Whose request it was about; None for platform events."
    )
    data: dict[str, Any] = Field(default_factory=dict)


class StoredEvent(Event):
    """An event as the durable log holds it: its place in the log and the process that wrote it."""

    seq: int = Field(ge=1, description="Dense, increasing position in the event log.")
    origin: str = Field(description="Instance id of the writing process.")
