"""GET /healthz (the process answers), /readyz (what works, what is degraded), /metrics.

These need no token, so what they tell the public is kept to states: ``/readyz`` gives each
component's ``state`` and the ``degraded`` list; file paths, hosts and error messages are
shown only to a caller with an ``admin`` token. ``/metrics`` carries no paths or messages.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from mugpos.errors import MugposError
from mugpos_serving.auth import authenticate
from mugpos_serving.deps import get_services
from mugpos_serving.schemas.health import Health, Readiness
from mugpos_serving.services import Services

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "No models loaded"}},
    summary="Models loaded; cache, index and stores state",
)
async def readyz(request: Request) -> JSONResponse:
    """200 while requests can be served, with ``status: "degraded"`` and the reasons when
    something works worse (Redis down: served uncached; no manifest: the offline default
    model); 503 only when no model is loaded. Details (paths, errors) need an admin token."""
    services = get_services(request)
    cache_up = await services.cache.check() if services.cache_on else None
    readiness = await run_in_threadpool(check, services, cache_up)
    if not _is_admin(services, request.headers.get("authorization")):
        readiness = public_view(readiness)
    return JSONResponse(readiness.model_dump(), status_code=200 if readiness.ready else 503)


def _is_admin(services: Services, authorization: str | None) -> bool:
    if services.codec is None:
        return True  # auth is off (local development): nothing is hidden
    if not authorization:
        return False
    try:
        return authenticate(services.codec, authorization).allows("admin")
    except MugposError:
        return False


# What the public may see of each check: states and counts, never locations or messages.
_PUBLIC_FIELDS = frozenset(
    {"state", "source", "fingerprint", "detector", "embedder", "vectors", "search_status",
     "queryable", "backend", "healthy", "up", "per_minute", "redis", "workers", "capacity",
     "in_flight", "running", "queued", "rules", "retry", "served_variant"}
)  # fmt: skip


def public_view(readiness: Readiness) -> Readiness:
    checks = {
        name: {k: v for k, v in check.items() if k in _PUBLIC_FIELDS}
        for name, check in readiness.checks.items()
    }
    return readiness.model_copy(update={"checks": checks})


def check(services: Services, cache_up: bool | None) -> Readiness:
    """Describe each component (cheaply: Redis was pinged once, or not at all while the breaker
    is open)."""
    checks: dict[str, dict[str, Any]] = {}
    degraded: list[str] = []

    models = services.registry.describe()
    checks["models"] = models
    if models["state"] != "ok":
        degraded.append(f"models:{models['state']}")

    cache = services.cache.describe()
    if services.cache_on:
        link_state = services.link.state if services.link is not None else "up"
        state = "ok" if cache_up else ("slow" if link_state == "slow" else "down")
        cache = {**cache, "state": state}
        if state != "ok":
            degraded.append(f"cache:{state}")
    else:
        cache["state"] = "disabled"
    checks["cache"] = cache

    limiter = services.limiter
    link_up = services.link.up if services.link is not None else None
    services.metrics.redis_up.set(1 if link_up else 0)
    checks["rate_limit"] = {
        "state": limiter.backend,
        "per_minute": limiter.per_minute,
        "redis": link_up,
    }
    if services.link is not None and not link_up:
        degraded.append("rate_limit:local_fallback")

    index = services.index.describe()
    checks["index"] = index
    if index["state"] in ("unavailable", "not_queryable", "stale"):
        degraded.append(f"index:{index['state']}")

    store: dict[str, Any] = {"state": "ok"}
    if services.store is None:
        store = {"state": "unavailable", "error": services.store_error}
        degraded.append("document_store:unavailable")
    else:
        try:
            store["rules"] = services.store.collection("rules").count()
        except Exception as exc:  # noqa: BLE001 - report, never raise from a probe
            store = {"state": "unavailable", "error": f"{type(exc).__name__}: {exc}"}
            degraded.append("document_store:unavailable")
    checks["document_store"] = store
    checks["workers"] = dict(services.pool.describe())

    ready = services.registry.current is not None
    status = "unavailable" if not ready else ("degraded" if degraded else "ready")
    return Readiness(status=status, ready=ready, degraded=degraded, checks=checks)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    services = get_services(request)
    return Response(services.metrics.render(), media_type=services.metrics.content_type)
