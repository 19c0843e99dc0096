"""POST /v1/feedback: was a served analysis right, and if not, what is right."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mugpos.detections import Box
from mugpos_serving.schemas.common import REQUEST_ID_PATTERN


class CorrectedDetection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=64)
    box: Box


class CorrectedPosition(BaseModel):
    """Where a mug really is (center, pixels) or where it should have been suggested."""

    model_config = ConfigDict(extra="forbid")
    mug: int = Field(ge=0, description="Mug index in the analysis.")
    x: float
    y: float


class MugVerdict(BaseModel):
    """What a person said about one mug of the analysis (the studio's per-mug buttons)."""

    model_config = ConfigDict(extra="forbid")
    mug: int = Field(ge=0, description="Mug index in the analysis.")
    verdict: Literal["right", "wrong_box", "not_a_mug", "wrong_verdict"]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "request_id": "3f1c2a9e0b7d4c5e8f6a1b2c3d4e5f60",
                    "correct": False,
                    "corrected_detections": [
                        {"label": "mug", "box": {"x1": 210, "y1": 120, "x2": 330, "y2": 260}}
                    ],
                    "comment": "the saucer was taken as part of the mug",
                }
            ]
        },
    )

    request_id: str = Field(pattern=REQUEST_ID_PATTERN, description="From the position answer.")
    correct: bool
    corrected_detections: list[CorrectedDetection] | None = Field(default=None, max_length=200)
    corrected_positions: list[CorrectedPosition] | None = Field(default=None, max_length=200)
    mug_verdicts: list[MugVerdict] | None = Field(
        default=None,
        max_length=200,
        description="Per mug: right, wrong box, not a mug, wrong "
        "verdict (the rule judgement, not the box).",
    )
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackResponse(BaseModel):
    request_id: str
    stored_at: str
    image_sha256: str | None
    analysis_found: bool = True
