"""Search the corpus index by text (CLIP embedders only) or by image."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mugpos_serving.schemas.common import ModelRef
from mugpos_serving.schemas.positions import ImageSource, SimilarScene


class SearchFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(default=10, ge=1, le=100)
    has_mug: bool | None = None
    labels: list[str] = Field(default_factory=list, max_length=20, description="All must occur.")


class ImageSearchRequest(ImageSource, SearchFilters):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"image_base64": "/9j/4AAQ…", "k": 5, "has_mug": True}]},
    )


class SearchResponse(BaseModel):
    request_id: str
    model: ModelRef = Field(description="The embedder whose vectors were searched.")
    hits: list[SimilarScene]
    timings_ms: dict[str, float]
