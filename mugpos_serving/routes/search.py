"""Search the corpus index: GET with text (CLIP embedders), POST with an image."""

from __future__ import annotations

import json
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request

from mugpos.search import search_by_image, search_by_text
from mugpos_serving import openapi
from mugpos_serving.deps import PositionsCaller, get_services, request_id
from mugpos_serving.inputs import content_kind, image_bytes, parse_model, read_multipart
from mugpos_serving.positioning import decode_upload, similar_scene
from mugpos_serving.schemas.common import ModelRef, error_responses
from mugpos_serving.schemas.search import ImageSearchRequest, SearchFilters, SearchResponse

router = APIRouter(prefix="/v1/search", tags=["search"])


@router.get(
    "",
    response_model=SearchResponse,
    responses=error_responses(401, 403, 422, 429, 501, 503),
    summary="Scenes matching a text",
)
async def search_text(
    request: Request,
    _: PositionsCaller,
    text: Annotated[
        str, Query(min_length=1, max_length=500, examples=["two mugs next to a laptop"])
    ],
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    has_mug: Annotated[bool | None, Query()] = None,
    labels: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> SearchResponse:
    """Needs an embedder with a text tower (CLIP); the offline default has none and answers
    501 ``unsupported_operation`` saying so."""
    services = get_services(request)
    bundle = services.bundle()
    embedder = bundle.embedder
    if not embedder.has_text:
        embedder.embed_texts([text])  # raises UnsupportedOperationError with the reason
    index = services.index.get()
    t0 = time.perf_counter()
    hits = await services.pool.run(
        lambda: search_by_text(
            text, embedder, index, k=k, labels_all=tuple(labels or ()), has_mug=has_mug
        )
    )
    return SearchResponse(
        request_id=request_id(request),
        model=ModelRef(id=embedder.id, version=embedder.version),
        hits=[similar_scene(h) for h in hits],
        timings_ms={"total": round((time.perf_counter() - t0) * 1e3, 3)},
    )


@router.post(
    "",
    response_model=SearchResponse,
    responses=error_responses(401, 403, 413, 415, 422, 429, 503),
    summary="Scenes similar to a photo",
    openapi_extra=openapi.body(
        ImageSearchRequest,
        {
            "image": {"type": "string", "format": "binary"},
            "k": {"type": "integer", "default": 10},
            "has_mug": {"type": "boolean"},
            "labels": {"type": "array", "items": {"type": "string"}},
        },
        "JSON (image_base64 or image_url, filters) or multipart (image file, filters).",
    ),
)
async def search_image(request: Request, _: PositionsCaller) -> SearchResponse:
    services = get_services(request)
    settings = services.settings
    if content_kind(request) == "multipart":
        form = await read_multipart(request, "image", max_files=1)
        data = form.files[0]
        filters = parse_model(SearchFilters, _json_fields(form.fields, form.lists), "form")
    else:
        body = parse_model(ImageSearchRequest, await request.body())
        data = await image_bytes(body, services.fetcher, settings.max_image_bytes)
        filters = body
    bundle = services.bundle()
    index = services.index.get()
    t0 = time.perf_counter()

    def job() -> list:
        decoded = decode_upload(data, settings)
        return search_by_image(
            decoded,
            bundle.embedder,
            index,
            k=filters.k,
            labels_all=tuple(filters.labels),
            has_mug=filters.has_mug,
        )

    hits = await services.pool.run(job)
    return SearchResponse(
        request_id=request_id(request),
        model=ModelRef(id=bundle.embedder.id, version=bundle.embedder.version),
        hits=[similar_scene(h) for h in hits],
        timings_ms={"total": round((time.perf_counter() - t0) * 1e3, 3)},
    )


def _json_fields(fields: dict[str, str], lists: dict[str, list[str]]) -> str:
    """Form fields (all strings) as JSON for the filters model: k as a number, has_mug a bool,
    labels from repeated fields or a comma-separated list. Any other field is passed on, so
    the model refuses it instead of it being silently ignored."""
    out: dict[str, object] = {
        name: value for name, value in fields.items() if name not in ("k", "has_mug", "labels")
    }
    if "k" in fields:
        out["k"] = int(fields["k"]) if fields["k"].strip().isdigit() else fields["k"]
    if "has_mug" in fields:
        value = fields["has_mug"].strip().lower()
        out["has_mug"] = {"true": True, "false": False}.get(value, value)
    if "labels" in lists:
        out["labels"] = [x.strip() for v in lists["labels"] for x in v.split(",") if x.strip()]
    return json.dumps(out)
