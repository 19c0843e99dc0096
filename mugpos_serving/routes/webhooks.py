"""/v1/webhooks: subscriptions (admin scope), their delivery log, and replay.

Target URLs pass the SSRF guard when they are set (422 ``url_not_allowed`` for a private
address unless ``MUGPOS_OUTBOUND_ALLOW_PRIVATE``) and again at every delivery, since DNS can
change. The secret is returned once, in the answer that creates (or rotates) it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from mugpos.webhooks.signing import new_secret
from mugpos.webhooks.subscriptions import ID_PATTERN
from mugpos_serving.auth import Principal
from mugpos_serving.deps import caller
from mugpos_serving.errors import NotFound
from mugpos_serving.integrations import get_integrations
from mugpos_serving.schemas.common import error_responses
from mugpos_serving.schemas.webhooks import (
    DeliveryOut,
    ReplayRequest,
    ReplayResponse,
    SubscriptionChanges,
    SubscriptionCreate,
    SubscriptionOut,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
Admin = Annotated[Principal, Depends(caller("admin"))]
SubId = Annotated[str, Path(pattern=ID_PATTERN, examples=["whk_0123456789abcdef"])]
DeliveryId = Annotated[str, Path(max_length=64, pattern=r"^whk_[0-9a-f]{16}:[0-9]{16}$")]
_ERRORS = error_responses(401, 403, 404, 409, 422, 429, 503)


@router.post(
    "",
    response_model=SubscriptionOut,
    status_code=status.HTTP_201_CREATED,
    responses=_ERRORS,
    summary="Subscribe a URL to event types",
)
async def create_subscription(
    request: Request, body: SubscriptionCreate, _: Admin
) -> SubscriptionOut:
    """Events logged from now on, of these types, are POSTed to the URL, signed with the
    secret (``X-Mugpos-Signature``, see docs/integrations.md). The answer holds the secret:
    it is not shown again."""
    integ = get_integrations(request)
    subs, _outbox = integ.webhooks()
    await integ.check_target(body.url)
    head = await run_in_threadpool(integ.event_log().head)
    sub = await run_in_threadpool(
        lambda: subs.create(
            url=body.url,
            secret=body.secret or new_secret(),
            event_types=tuple(body.event_types),
            from_seq=head,
            enabled=body.enabled,
            description=body.description,
        )
    )
    await integ.subscriptions_changed()
    return SubscriptionOut.of(sub, with_secret=True)


@router.get(
    "", response_model=list[SubscriptionOut], responses=_ERRORS, summary="List subscriptions"
)
async def list_subscriptions(request: Request, _: Admin) -> list[SubscriptionOut]:
    subs, _outbox = get_integrations(request).webhooks()
    return [SubscriptionOut.of(s) for s in await run_in_threadpool(subs.list)]


@router.get(
    "/status",
    responses=error_responses(401, 403, 429),
    summary="The dispatcher and the event hub of this process",
)
async def dispatcher_state(request: Request, _: Admin) -> dict[str, object]:
    return get_integrations(request).describe()


@router.get(
    "/{sub_id}", response_model=SubscriptionOut, responses=_ERRORS, summary="Read a subscription"
)
async def get_subscription(request: Request, sub_id: SubId, _: Admin) -> SubscriptionOut:
    subs, _outbox = get_integrations(request).webhooks()
    return SubscriptionOut.of(await run_in_threadpool(subs.get, sub_id))


@router.patch(
    "/{sub_id}",
    response_model=SubscriptionOut,
    responses=_ERRORS,
    summary="Change a subscription (URL, types, enabled; rotate the secret)",
)
async def update_subscription(
    request: Request, body: SubscriptionChanges, sub_id: SubId, _: Admin
) -> SubscriptionOut:
    integ = get_integrations(request)
    subs, _outbox = integ.webhooks()
    changes = body.model_dump(exclude_unset=True, exclude={"rotate_secret"})
    if body.url is not None:
        await integ.check_target(body.url)
    if "event_types" in changes:
        changes["event_types"] = tuple(changes["event_types"])
    if body.rotate_secret:
        changes["secret"] = new_secret()
    sub = await run_in_threadpool(subs.update, sub_id, changes)
    await integ.subscriptions_changed()
    return SubscriptionOut.of(sub, with_secret=body.rotate_secret)


@router.delete(
    "/{sub_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_ERRORS,
    summary="Delete a subscription, its queue and its log",
)
async def delete_subscription(request: Request, sub_id: SubId, _: Admin) -> Response:
    integ = get_integrations(request)
    subs, outbox = integ.webhooks()
    await run_in_threadpool(subs.delete, sub_id)
    await run_in_threadpool(outbox.drop_subscription, sub_id)
    await integ.subscriptions_changed()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{sub_id}/deliveries",
    response_model=list[DeliveryOut],
    responses=_ERRORS,
    summary="The delivery log: pending, delivered and dead letters, newest first",
)
async def list_deliveries(
    request: Request,
    sub_id: SubId,
    _: Admin,
    status_: Annotated[
        Literal["pending", "delivered", "dead"] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[DeliveryOut]:
    subs, outbox = get_integrations(request).webhooks()
    await run_in_threadpool(subs.get, sub_id)  # 404 for an unknown subscription
    found = await run_in_threadpool(outbox.list, sub_id, status_, limit)
    return [DeliveryOut.of(d) for d in found]


@router.get(
    "/{sub_id}/deliveries/{delivery_id}",
    response_model=DeliveryOut,
    responses=_ERRORS,
    summary="One delivery with its last attempts",
)
async def get_delivery(
    request: Request, sub_id: SubId, delivery_id: DeliveryId, _: Admin
) -> DeliveryOut:
    _subs, outbox = get_integrations(request).webhooks()
    _belongs(sub_id, delivery_id)
    return DeliveryOut.of(await run_in_threadpool(outbox.get, delivery_id))


@router.post(
    "/{sub_id}/deliveries/{delivery_id}/replay",
    response_model=DeliveryOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ERRORS,
    summary="Send a finished delivery again",
)
async def replay_delivery(
    request: Request, sub_id: SubId, delivery_id: DeliveryId, _: Admin
) -> DeliveryOut:
    """Queued again from attempt 1, in its place in the subscription's order (before newer
    pending events). The receiver gets the same event id again."""
    _subs, outbox = get_integrations(request).webhooks()
    _belongs(sub_id, delivery_id)
    return DeliveryOut.of(await run_in_threadpool(outbox.replay, delivery_id))


@router.post(
    "/{sub_id}/replay",
    response_model=ReplayResponse,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ERRORS,
    summary="Send every dead letter (or delivered event) of a subscription again",
)
async def replay_all(
    request: Request, sub_id: SubId, body: ReplayRequest, _: Admin
) -> ReplayResponse:
    subs, outbox = get_integrations(request).webhooks()
    await run_in_threadpool(subs.get, sub_id)

    def replay() -> list[str]:
        found = outbox.list(sub_id, body.status, body.limit)
        return [outbox.replay(d.id).id for d in found]

    ids = await run_in_threadpool(replay)
    return ReplayResponse(replayed=len(ids), delivery_ids=ids)


def _belongs(sub_id: str, delivery_id: str) -> None:
    if not delivery_id.startswith(f"{sub_id}:"):
        raise NotFound(
            f"delivery {delivery_id!r} is not one of {sub_id}'s",
            details={"delivery_id": delivery_id},
        )
