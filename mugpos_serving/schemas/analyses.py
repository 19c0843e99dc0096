"""GET /v1/analyses: the caller's recent analyses (History) and one analysis again."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from mugpos.detections import Box
from mugpos_serving.schemas.positions import ImageMeta

MugStatus = Literal["ok", "violated", "unchecked"]


class MugSummary(BaseModel):
    index: int
    box: Box
    confidence: float
    score: float | None
    status: MugStatus = Field(
        description="ok: every rule checked is met; violated: at least one is not; unchecked: "
        "no rule could be checked (only not_found / not_applicable results)."
    )


class FeedbackSummary(BaseModel):
    correct: bool
    created_at: str | None = None


class AnalysisSummary(BaseModel):
    request_id: str
    created_at: str
    cache: str
    image: ImageMeta | None = Field(description="None when the stored answer was not found.")
    detector: str | None = Field(description="Model id and version that answered.")
    detections: int
    mugs: list[MugSummary]
    scene_score: float | None
    score_reason: str | None = None
    partial: bool = False
    violations: int = Field(description="Rule results with status violated, all mugs.")
    result_stored: bool = Field(
        description="False when neither this record nor the one it points at (cache hit) holds "
        "the answer (e.g. dropped under load)."
    )
    feedback: FeedbackSummary | None = None


class AnalysisList(BaseModel):
    analyses: list[AnalysisSummary] = Field(description="Newest first.")


class AnalysisRecord(BaseModel):
    """One served analysis as it was answered (``result`` is a PositionResult), with the
    feedback given on it."""

    request_id: str
    created_at: str
    cache: str
    result: dict[str, Any] | None
    feedback: dict[str, Any] | None = None
