"""GET /healthz (the process answers), /readyz (what works, what is degraded), /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

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
    model); 503 only when no model is loaded."""
    services = get_services(request)
    readiness = await run_in_threadpool(check, services)
    return JSONResponse(readiness.model_dump(), status_code=200 if readiness.ready else 503)


def check(services: Services) -> Readiness:
    """Probe each component (cheaply: Redis at most once per backoff window)."""
    checks: dict[str, dict[str, Any]] = {}
    degraded: list[str] = []

    models = services.registry.describe()
    checks["models"] = models
    if models["state"] != "ok":
        degraded.append(f"models:{models['state']}")

    cache = services.cache.describe()
    if services.cache_on:
        up = services.cache.check()
        cache = {**services.cache.describe(), "state": "ok" if up else "down"}
        if not up:
            degraded.append("cache:down")
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
