"""POST /v1/feedback: stored beside the analysis it is about, for the evaluation data."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from fastapi import APIRouter, Request, status

from mugpos_serving.deps import PositionsCaller, get_services
from mugpos_serving.errors import NotFound, ServiceUnavailable
from mugpos_serving.idempotency import HEADER, Idempotency, body_hash
from mugpos_serving.schemas.common import error_responses
from mugpos_serving.schemas.feedback import FeedbackRequest, FeedbackResponse

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])
FEEDBACK = "feedback"


class AnalysisNotFound(NotFound):
    code = "analysis_not_found"


def feedback_id(request_id: str, subject: str) -> str:
    """One feedback document per analysis and caller."""
    return f"{request_id}:{hashlib.sha256(subject.encode()).hexdigest()[:16]}"


@router.post(
    "",
    response_model=FeedbackResponse,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 404, 422, 429, 503),
    summary="Say whether an analysis was right",
)
def feedback(
    request: Request, body: FeedbackRequest, principal: PositionsCaller
) -> FeedbackResponse:
    """About the analysis with this (server-made) request id. Only the caller who made the
    request (or an admin) can send feedback on it. Each caller has one feedback per analysis
    (a second one replaces their first), so no caller can replace another's. With an
    ``Idempotency-Key`` header a retry is answered from the first request."""
    services = get_services(request)
    recorder, store = services.recorder, services.store
    if recorder is None or store is None:
        raise ServiceUnavailable(
            "feedback needs recorded analyses (MUGPOS_RECORD_ANALYSES and a document store)"
        )
    key = request.headers.get(HEADER)
    if key is not None:
        keys, digest = Idempotency(store, "feedback"), body_hash(body.model_dump(mode="json"))
        first = keys.replay(principal.subject, key, digest)
        if first is not None:
            return FeedbackResponse.model_validate(first)
    recorder.flush(timeout_s=5.0)  # the analysis may still be on its way to the store
    analysis = recorder.get(body.request_id)
    owner = analysis.get("subject") if analysis else None
    if analysis is None or (owner != principal.subject and not principal.allows("admin")):
        raise AnalysisNotFound(
            f"no analysis with request id {body.request_id!r}",
            details={"request_id": body.request_id},
        )
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    store.collection(FEEDBACK).replace(
        {
            "_id": feedback_id(body.request_id, principal.subject),
            **body.model_dump(mode="json"),
            "subject": principal.subject,
            "created_at": now,
            "image_sha256": analysis.get("image_sha256"),
            "model_id": analysis.get("model_id"),
            "model_version": analysis.get("model_version"),
            "rules_hash": analysis.get("rules_hash"),
        }
    )
    answer = FeedbackResponse(
        request_id=body.request_id, stored_at=now, image_sha256=analysis.get("image_sha256")
    )
    if key is not None:
        keys.remember(principal.subject, key, digest, answer.model_dump(mode="json"))
    return answer
