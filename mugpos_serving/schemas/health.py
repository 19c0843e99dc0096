"""GET /healthz and /readyz."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """``ready``: requests can be served. ``degraded`` names what works worse than it should
    (e.g. ``cache:down``, ``models:offline_default``) while requests still succeed."""

    status: Literal["ready", "degraded", "unavailable"]
    ready: bool
    degraded: list[str] = Field(description="component:state for each degraded component.")
    checks: dict[str, dict[str, Any]]
