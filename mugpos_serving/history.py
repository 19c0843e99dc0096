"""The caller's served analyses, read back from the ``analyses`` collection the recorder writes.

A cache hit is recorded as a pointer (its ``cache_key``) without the answer: the answer lives
on the first record with the same key, which is always the request that computed it (a key
is only ever hit after a miss stored it). The recorder may drop records under load, so a
pointer can find nothing; the summary says so instead of guessing.
"""

from __future__ import annotations

from typing import Any

from mugpos.docstore import Collection
from mugpos_serving.schemas.analyses import (
    AnalysisRecord,
    AnalysisSummary,
    FeedbackSummary,
    MugStatus,
    MugSummary,
)
from mugpos_serving.schemas.positions import ImageMeta

FEEDBACK = "feedback"
_POINTER_LOOKAHEAD = 5  # records with one cache key inspected for the stored answer


def owned(doc: dict[str, Any] | None, subject: str, admin: bool) -> bool:
    return doc is not None and (admin or doc.get("subject") == subject)


def stored_result(analyses: Collection, doc: dict[str, Any]) -> dict[str, Any] | None:
    """The answer of ``doc``: its own, or (cache hit) the computing record's."""
    if isinstance(doc.get("result"), dict):
        return doc["result"]  # type: ignore[no-any-return]
    key = doc.get("cache_key")
    if not isinstance(key, str) or not key:
        return None
    for other in analyses.find(
        {"cache_key": key}, sort=[("created_at", 1)], limit=_POINTER_LOOKAHEAD
    ):
        if isinstance(other.get("result"), dict):
            return other["result"]  # type: ignore[no-any-return]
    return None


def recent(analyses: Collection, subject: str, limit: int) -> list[dict[str, Any]]:
    return analyses.find(
        {"subject": subject, "source": "api"}, sort=[("created_at", -1)], limit=limit
    )


def mug_status(results: list[dict[str, Any]]) -> MugStatus:
    statuses = {r.get("status") for r in results}
    if "violated" in statuses:
        return "violated"
    return "ok" if "satisfied" in statuses else "unchecked"


def summarize(
    doc: dict[str, Any], result: dict[str, Any] | None, feedback: dict[str, Any] | None
) -> AnalysisSummary:
    result = result or {}
    scene = result.get("scene") or {}
    mugs = result.get("mugs") or []
    violations = sum(
        r.get("status") == "violated" for m in mugs for r in m.get("rule_results") or []
    ) + sum(r.get("status") == "violated" for r in scene.get("rule_results") or [])
    detector = (result.get("models") or {}).get("detector") or {}
    return AnalysisSummary(
        request_id=str(doc["_id"]),
        created_at=str(doc.get("created_at", "")),
        cache=str(doc.get("cache", "")),
        image=ImageMeta.model_validate(result["image"]) if result.get("image") else None,
        detector=f"{detector['id']} {detector['version']}" if detector.get("id") else None,
        detections=len(result.get("detections") or []),
        mugs=[
            MugSummary(
                index=m["index"],
                box=m["box"],
                confidence=m["confidence"],
                score=m.get("score"),
                status=mug_status(m.get("rule_results") or []),
            )
            for m in mugs
        ],
        scene_score=scene.get("score"),
        score_reason=scene.get("score_reason"),
        partial=bool(scene.get("partial", False)),
        violations=violations,
        result_stored=bool(result),
        feedback=FeedbackSummary(
            correct=bool(feedback.get("correct")), created_at=feedback.get("created_at")
        )
        if feedback
        else None,
    )


def record(
    doc: dict[str, Any], result: dict[str, Any] | None, feedback: dict[str, Any] | None
) -> AnalysisRecord:
    return AnalysisRecord(
        request_id=str(doc["_id"]),
        created_at=str(doc.get("created_at", "")),
        cache=str(doc.get("cache", "")),
        result=result,
        feedback={k: v for k, v in feedback.items() if k != "_id"} if feedback else None,
    )
