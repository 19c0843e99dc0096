"""GET /v1/analyses (the caller's recent analyses) and /v1/analyses/{request_id} (one again,
with its feedback): what the studio's History view shows.

Only the caller's own analyses are listed; one analysis is readable by its caller or an admin
(as for feedback), and anyone else gets the same 404 as for an id that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from mugpos_serving import history
from mugpos_serving.deps import PositionsCaller, get_services
from mugpos_serving.errors import NotFound, ServiceUnavailable
from mugpos_serving.recorder import AnalysisRecorder
from mugpos_serving.routes.feedback import feedback_id
from mugpos_serving.schemas.analyses import AnalysisList, AnalysisRecord
from mugpos_serving.schemas.common import REQUEST_ID_PATTERN, error_responses

router = APIRouter(prefix="/v1/analyses", tags=["positions"])
MAX_LIST = 50
_FLUSH_S = 1.0  # an answer sent a moment ago may still be on its way to the store


class AnalysisNotFound(NotFound):
    code = "analysis_not_found"


def _recorder(request: Request) -> AnalysisRecorder:
    services = get_services(request)
    if services.recorder is None or services.store is None:
        raise ServiceUnavailable(
            "history needs recorded analyses (MUGPOS_RECORD_ANALYSES and a document store)",
            details={"reason": services.store_error or "recording is off"},
        )
    return services.recorder


@router.get(
    "",
    response_model=AnalysisList,
    responses=error_responses(401, 403, 422, 429, 503),
    summary="Your recent analyses, newest first",
)
def list_analyses(
    request: Request,
    principal: PositionsCaller,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 20,
) -> AnalysisList:
    recorder = _recorder(request)
    recorder.flush(timeout_s=_FLUSH_S)
    feedback = get_services(request).store.collection(history.FEEDBACK)  # type: ignore[union-attr]
    docs = history.recent(recorder.collection, principal.subject, limit)
    return AnalysisList(
        analyses=[
            history.summarize(
                d,
                history.stored_result(recorder.collection, d),
                feedback.get(feedback_id(str(d["_id"]), principal.subject)),
            )
            for d in docs
        ]
    )


@router.get(
    "/{request_id}",
    response_model=AnalysisRecord,
    responses=error_responses(401, 403, 404, 429, 503),
    summary="One analysis as it was answered, with its feedback",
)
def get_analysis(
    request: Request,
    principal: PositionsCaller,
    request_id: Annotated[str, Path(pattern=REQUEST_ID_PATTERN)],
) -> AnalysisRecord:
    recorder = _recorder(request)
    recorder.flush(timeout_s=_FLUSH_S)
    doc = recorder.get(request_id)
    if not history.owned(doc, principal.subject, principal.allows("admin")):
        raise AnalysisNotFound(
            f"no analysis with request id {request_id!r}", details={"request_id": request_id}
        )
    assert doc is not None
    feedback = get_services(request).store.collection(history.FEEDBACK)  # type: ignore[union-attr]
    # Feedback is kept per caller: the owner's is what belongs with the analysis.
    owner = str(doc.get("subject") or principal.subject)
    return history.record(
        doc,
        history.stored_result(recorder.collection, doc),
        feedback.get(feedback_id(request_id, owner)),
    )
