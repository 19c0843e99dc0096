"""POST /v1/positions and /v1/positions/batch."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from mugpos.errors import MugposError
from mugpos.events.analysis import analysis_events
from mugpos_serving import openapi
from mugpos_serving.deps import (
    PositionsCaller,
    charge_more,
    client_request_id,
    get_services,
    request_id,
)
from mugpos_serving.errors import BatchTooLarge, InvalidRequest
from mugpos_serving.inputs import content_kind, image_bytes, parse_model, read_multipart
from mugpos_serving.integrations import get_integrations, hub_of
from mugpos_serving.positioning import Ids, PositionService
from mugpos_serving.schemas.common import error_responses
from mugpos_serving.schemas.positions import (
    BatchItem,
    BatchRequest,
    BatchResponse,
    PositionOptions,
    PositionRequest,
    PositionResponse,
)
from mugpos_serving.urlfetch import ByteBudget

router = APIRouter(prefix="/v1/positions", tags=["positions"])
_ERRORS = error_responses(401, 403, 404, 413, 415, 422, 429, 503, 504)
_OPTIONS_FIELD = {
    "type": "string",
    "description": "PositionOptions as JSON.",
    "examples": ['{"target": {"kind": "thirds"}, "similar": 3}'],
}


@router.post(
    "",
    response_model=PositionResponse,
    responses={**_ERRORS, 502: error_responses(502)[502]},
    summary="Position the mugs in one photo",
    openapi_extra=openapi.body(
        PositionRequest,
        {"image": {"type": "string", "format": "binary"}, "options": _OPTIONS_FIELD},
        "JSON (image_base64 or image_url, and options) or multipart (image file, options).",
    ),
)
async def position(
    request: Request,
    principal: PositionsCaller,
    render: Annotated[
        Literal["json", "png", "card"],
        Query(
            description="png: the analysis drawn on the photo instead of JSON; card: a report "
            "card (score, verdict, violations, moves) from the configured renderer."
        ),
    ] = "json",
) -> Response:
    """Detect mugs and context objects, place each mug (zone, offsets to the target,
    clearances), check the rules, suggest moves and score the scene. Identical requests are
    answered from the cache (``cache: "hit"``). ``?render=png`` returns the annotated picture:
    boxes, zones, clearances, violated rules and suggestion arrows; ``?render=card`` a report
    card (PNG; ``X-Card-Renderer`` says which renderer drew it)."""
    services = get_services(request)
    limit = services.settings.max_image_bytes
    if content_kind(request) == "multipart":
        form = await read_multipart(request, "image", max_files=1)
        if len(form.files) > 1:
            raise InvalidRequest(
                f"{len(form.files)} images sent: this route takes one (see /v1/positions/batch)"
            )
        data = form.files[0]
        options = parse_model(PositionOptions, form.fields.get("options") or "{}", "options")
    else:
        body = parse_model(PositionRequest, await request.body())
        data = await image_bytes(body, services.fetcher, limit)
        options = body.options
    if render == "png":
        picture = await PositionService(services).picture(data, options)
        return Response(picture, media_type="image/png")
    if render == "card":
        integ = get_integrations(request)
        card = await integ.cards.card(services, data, options, request_id(request))
        integ.hub.emit(analysis_events(card.answer, subject=principal.subject))
        headers = {"X-Card-Renderer": card.rendered.renderer}
        if card.rendered.url:
            headers["X-Card-Url"] = card.rendered.url
        return Response(card.content, media_type=card.rendered.media_type, headers=headers)
    ids = Ids(request_id(request), client_request_id(request))
    answer = await PositionService(services).position(data, options, ids, principal.subject)
    if (hub := hub_of(request)) is not None:
        await hub.analysis(answer, principal.subject)
    return Response(answer, media_type="application/json")


@router.post(
    "/batch",
    response_model=BatchResponse,
    responses=_ERRORS,
    summary="Position the mugs in several photos",
    openapi_extra=openapi.body(
        BatchRequest,
        {
            "images": {"type": "array", "items": {"type": "string", "format": "binary"}},
            "options": _OPTIONS_FIELD,
        },
        "JSON (items with image_base64 or image_url) or multipart (repeated images files).",
    ),
)
async def position_batch(request: Request, principal: PositionsCaller) -> Response:
    """Each image is answered on its own (``ok`` and ``result``, or ``error``): one bad image
    does not fail the others. At most ``MUGPOS_MAX_BATCH_IMAGES`` images (413 beyond); each
    counts against the rate limit. Images given by URL are fetched at once, within the
    request's time and ``MUGPOS_MAX_REQUEST_BYTES`` for all of them together."""
    services = get_services(request)
    max_items = services.settings.max_batch_images
    limit = services.settings.max_image_bytes
    items: list[tuple[bytes | MugposError, PositionOptions]] = []
    if content_kind(request) == "multipart":
        form = await read_multipart(request, "images", max_files=max_items)
        _check_size(len(form.files), max_items)
        await charge_more(request, len(form.files) - 1)
        options = parse_model(PositionOptions, form.fields.get("options") or "{}", "options")
        items = [(data, options) for data in form.files]
    else:
        batch = parse_model(BatchRequest, await request.body())
        _check_size(len(batch.items), max_items)
        await charge_more(request, len(batch.items) - 1)
        budget = ByteBudget(services.settings.max_request_bytes)

        async def fetch(item: BatchItem) -> bytes | MugposError:
            try:
                return await image_bytes(item, services.fetcher, limit, budget)
            except MugposError as exc:
                return exc

        fetched = await asyncio.gather(*(fetch(item) for item in batch.items))
        items = [
            (d, it.options or batch.options) for d, it in zip(fetched, batch.items, strict=True)
        ]
    ids = Ids(request_id(request), client_request_id(request))
    service = PositionService(services)
    done = await asyncio.gather(
        *(service.item(i, d, o, ids, principal.subject) for i, (d, o) in enumerate(items))
    )
    ok = sum(success for success, _ in done)
    client = b"null" if ids.client_request_id is None else b'"%s"' % ids.client_request_id.encode()
    answer = (
        b'{"request_id":"%s","client_request_id":%s,"succeeded":%d,"failed":%d,"results":[%s]}'
        % (
            ids.request_id.encode(),
            client,
            ok,
            len(done) - ok,
            b",".join(part for _, part in done),
        )
    )
    if (hub := hub_of(request)) is not None:
        await hub.batch(answer, principal.subject)
    return Response(answer, media_type="application/json")


def _check_size(n: int, max_items: int) -> None:
    if n > max_items:
        raise BatchTooLarge(
            f"{n} images in one batch; at most {max_items}",
            details={"images": n, "max_images": max_items},
        )
