"""GET /v1/models (served models and the catalog) and /v1/models/manifest (the manifest)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from mugpos.models.catalog import CATALOG
from mugpos_serving.deps import AnyCaller, get_services
from mugpos_serving.errors import NotFound
from mugpos_serving.positioning import served_models
from mugpos_serving.schemas.common import error_responses
from mugpos_serving.schemas.models import CatalogModel, ModelsOut

router = APIRouter(prefix="/v1/models", tags=["models"])


class ManifestNotFound(NotFound):
    code = "manifest_not_found"


@router.get(
    "",
    response_model=ModelsOut,
    responses=error_responses(401, 429),
    summary="The served models and the catalog",
)
async def list_models(request: Request, _: AnyCaller) -> ModelsOut:
    services = get_services(request)
    registry = services.registry
    bundle = registry.current
    manifest = await run_in_threadpool(_read_manifest, registry.manifest_path)
    return ModelsOut(
        served=served_models(bundle) if bundle is not None else None,
        state=registry.state,
        message=registry.message,
        served_variant=(manifest or {}).get("served")
        if bundle and bundle.source == "manifest"
        else None,
        catalog=[
            CatalogModel(
                id=m.id,
                family=m.family,
                tasks=list(m.tasks),
                version=m.version,
                license=m.license,
                description=m.description,
                embedding_dim=m.embedding_dim,
                offline_default=m.offline_default,
            )
            for m in CATALOG.values()
        ],
    )


@router.get(
    "/manifest",
    responses=error_responses(401, 404, 429),
    summary="The model manifest the Dagster model assets wrote",
)
async def manifest(request: Request, _: AnyCaller) -> dict[str, Any]:
    """404 ``manifest_not_found`` when there is none (the offline default model serves)."""
    path = get_services(request).registry.manifest_path
    body = await run_in_threadpool(_read_manifest, path)
    if body is None:
        raise ManifestNotFound(
            "no model manifest yet: the offline default model serves (materialize the model "
            "assets in Dagster to write one)",
            details={"path": str(path.name)},
        )
    return body


def _read_manifest(path: Any) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None
