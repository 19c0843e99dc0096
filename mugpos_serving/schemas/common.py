"""Shapes shared by every route: the error envelope and model references."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

REQUEST_ID_PATTERN = r"^[A-Za-z0-9._-]{1,80}$"


class ErrorBody(BaseModel):
    code: str = Field(description="Stable, machine-readable (see docs/api.md).")
    message: str = Field(description="For people; may change between versions.")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    """The one shape of every failure."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "invalid_image",
                        "message": "not a recognised image (expected JPEG, PNG, WebP or GIF)",
                        "details": {"sha256": "9f86d0…"},
                    }
                }
            ]
        }
    )

    error: ErrorBody


class ModelRef(BaseModel):
    id: str
    version: str


class ChampionRef(BaseModel):
    registered_model: str = Field(description="The MLflow registered model (mugpos-detector).")
    version: str = Field(description="The model version its 'champion' alias pointed at.")


class VariantRef(BaseModel):
    """The detector variant that produced this answer."""

    key: str = Field(description="<model id>@<threshold>[+<tiling>]", examples=["ssd@0.3+tiled"])
    score_threshold: float
    tiling: str = Field(description="full, tiled or tiled-fine")
    tiling_config: dict[str, Any] = Field(description="Tile size, zoom levels, overlap, ...")
    served: str = Field(
        description="The served variant's key (what runs when a request "
        "overrides neither threshold nor tiling)."
    )
    source: Literal["champion", "configured", "request"] = Field(
        description="champion: the variant the blocking evaluation gate promoted; configured: "
        "no champion yet, the configured one; request: this request overrode the threshold or "
        "the tiling of the served one."
    )
    champion: ChampionRef | None = None


class ServedModels(BaseModel):
    detector: ModelRef
    embedder: ModelRef
    variant: VariantRef
    source: Literal["manifest", "offline_default"] = Field(
        description="'manifest': models named by the Dagster model manifest; 'offline_default': "
        "no manifest yet, the embedded default model."
    )
    manifest_fingerprint: str | None = None


def name_inline_rules(value: Any) -> Any:
    """Inline rules without an id get ``inline-<n>``: the engine's default is a random id, which
    would make every request a new cache entry and the ids in the answer unpredictable."""
    if isinstance(value, list):
        return [
            {**item, "id": f"inline-{n}"} if isinstance(item, dict) and "id" not in item else item
            for n, item in enumerate(value)
        ]
    return value


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer."""
    text = {
        400: "Bad request",
        401: "Missing, expired or invalid token",
        403: "The token lacks the scope",
        404: "Not found",
        409: "Conflict (the rule exists, or changed first)",
        413: "Too large (upload, pixels or batch)",
        415: "Unsupported content type",
        422: "Invalid input (validation, image, rule)",
        429: "Rate limited (see Retry-After)",
        501: "Not supported by the served models",
        502: "Fetching the image URL failed",
        503: "Overloaded or a backend is unavailable (see Retry-After)",
        504: "Timed out",
    }
    return {s: {"model": ErrorResponse, "description": text.get(s, "Error")} for s in statuses}
