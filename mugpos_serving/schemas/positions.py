"""POST /v1/positions and /v1/positions/batch: what a client sends and gets back."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mugpos.detections import Box, Detection
from mugpos.positioning.models import (
    AlignmentGroup,
    EdgeDistances,
    MugRelation,
    ObjectRelation,
    Point,
    Suggestion,
    Vector,
    WorkArea,
)
from mugpos.positioning.safety import Safety
from mugpos.positioning.targets import Target
from mugpos.positioning.zones import Grid
from mugpos.rules.results import RuleResult
from mugpos.rules.schema import Rule
from mugpos.units import ResolvedScale, Scale
from mugpos_serving.schemas.common import ErrorBody, ServedModels, name_inline_rules

_EXAMPLE_OPTIONS: dict[str, Any] = {
    "rule_ids": ["rule-laptop-10cm"],
    "target": {"kind": "thirds"},
    "scale": {"reference": {"label": "laptop", "size": 31, "unit": "cm", "dimension": "width"}},
    "similar": 3,
}


class PositionOptions(BaseModel):
    """How to judge the scene. Rules: inline ``rules``, or stored ones by ``rule_ids``; with
    neither, every enabled stored rule. ``rules: []`` checks none."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                _EXAMPLE_OPTIONS,
                {
                    "rules": [
                        {
                            "id": "edge-5pct",
                            "name": "edge clearance ≥ 5%",
                            "kind": "edge_clearance",
                            "value": 5,
                            "unit": "%",
                        }
                    ],
                    "scale": {"mm_per_px": 0.8},
                },
            ]
        },
    )

    rule_ids: list[str] | None = Field(
        default=None, max_length=100, description="Stored rules to check (a rule set by ids)."
    )
    rules: list[Rule] | None = Field(
        default=None, max_length=100, description="Inline rules, checked instead of stored ones."
    )
    target: Target = Field(default_factory=Target, description="Where mugs should go.")
    scale: Scale | None = Field(
        default=None,
        description="mm per pixel, or a reference object of known size (e.g. the laptop is 31 cm "
        "wide); without one, lengths are in px and % only.",
    )
    grid: Grid = Field(default_factory=Grid, description="Zone grid over the work area.")
    score_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Detection minimum; default: the served variant's (the champion's).",
    )
    tiling: Literal["full", "tiled", "tiled-fine"] | None = Field(
        default=None,
        description="full: one pass; tiled: plus tiles of the model's input size; tiled-fine: "
        "plus half-size tiles for very small mugs (about 4x slower). Default: the served "
        "variant's.",
    )
    similar: int = Field(
        default=0, ge=0, le=50, description="Also return this many similar corpus scenes."
    )
    safety: Safety = Field(
        default_factory=Safety,
        description="Implicit hard constraints of every plan (no overlap, never onto a new "
        "object, stay on the table, a margin); relax them explicitly.",
    )

    _inline_ids = field_validator("rules", mode="before")(name_inline_rules)

    @model_validator(mode="after")
    def _one_rule_source(self) -> PositionOptions:
        if self.rules is not None and self.rule_ids is not None:
            raise ValueError("give rules or rule_ids, not both")
        return self


class ImageSource(BaseModel):
    """Exactly one of ``image_base64`` (the file's bytes; a ``data:`` URL is accepted) or
    ``image_url`` (only when the server enables URL fetching)."""

    image_base64: str | None = Field(default=None, description="JPEG, PNG, WebP or GIF, base64.")
    image_url: str | None = Field(default=None, max_length=2048)

    @model_validator(mode="after")
    def _exactly_one(self) -> ImageSource:
        if (self.image_base64 is None) == (self.image_url is None):
            raise ValueError("give exactly one of image_base64 or image_url")
        return self


class PositionRequest(ImageSource):
    """JSON form of POST /v1/positions (the multipart form has an ``image`` file and an
    ``options`` field holding the same options as JSON)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"image_base64": "/9j/4AAQSkZJRgABAQ…", "options": _EXAMPLE_OPTIONS}]
        },
    )

    options: PositionOptions = Field(default_factory=PositionOptions)


class BatchItem(ImageSource):
    model_config = ConfigDict(extra="forbid")

    options: PositionOptions | None = Field(
        default=None, description="Replaces the batch's options for this image."
    )


class BatchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "items": [{"image_base64": "/9j/4AAQ…"}, {"image_base64": "iVBORw0KGgo…"}],
                    "options": {"target": {"kind": "image_center"}},
                }
            ]
        },
    )

    items: list[BatchItem] = Field(
        min_length=1, max_length=256, description="At most MUGPOS_MAX_BATCH_IMAGES."
    )
    options: PositionOptions = Field(default_factory=PositionOptions)


class ImageMeta(BaseModel):
    sha256: str = Field(description="Of the bytes as received.")
    width: int
    height: int
    format: str


class MugPlacement(BaseModel):
    center: Point = Field(description="Pixels, origin top-left.")
    center_image: Point = Field(description="Normalised to the image (0..1).")
    center_work_area: Point = Field(description="Normalised to the work area (0..1 inside).")
    center_mm: Point | None = Field(default=None, description="From the work area's top-left.")
    width_mm: float | None = None
    height_mm: float | None = None
    in_work_area: bool


class Clearances(BaseModel):
    edges: EdgeDistances = Field(description="Gaps to each work-area edge.")
    objects: list[ObjectRelation] = Field(description="Distance to each context object.")
    mugs: list[MugRelation] = Field(description="Distance to each other mug.")


class MugResult(BaseModel):
    index: int
    detection: int = Field(description="Index into detections.")
    confidence: float
    box: Box
    position: MugPlacement
    zone: str | None = Field(description="Grid cell of the center; None outside the work area.")
    zone_cell: tuple[int, int] | None = None
    offset: Vector = Field(description="Center minus the nearest target point.")
    clearances: Clearances
    rule_results: list[RuleResult]
    suggestion: Suggestion | None = Field(description="How to move this mug.")
    score: float = Field(description="0..100.")


class SceneResult(BaseModel):
    score: float | None = Field(
        description="0..100 for the whole scene; null when no mug was found (not scored)."
    )
    score_reason: str | None = Field(
        default=None, description="Why there is no score: 'no mug found: not scored'."
    )
    partial: bool = Field(
        default=False,
        description="The move planner's work budget ran out: suggestions are the best so far.",
    )
    work_area: WorkArea
    scale: ResolvedScale | None
    grid: Grid
    target: Target
    target_points: list[Point]
    groups: list[AlignmentGroup]
    rules_hash: str = Field(description="Hash of the enabled rules' semantics.")
    rule_results: list[RuleResult] = Field(description="Scene-level results (not per mug).")


class SimilarScene(BaseModel):
    sha256: str
    score: float = Field(description="Cosine similarity, -1..1.")
    shard: str
    labels: list[str]
    has_mug: bool
    payload: dict[str, Any]


class PositionResult(BaseModel):
    """A position answer without the per-request fields (what the cache stores)."""

    image: ImageMeta
    models: ServedModels
    detections: list[Detection]
    mugs: list[MugResult]
    scene: SceneResult
    similar: list[SimilarScene] | None = Field(description="None unless options.similar > 0.")
    timings_ms: dict[str, float] = Field(
        description="Per stage (decode, detect, position, rules, suggest, score, similar, "
        "total). On a cache hit, those of the request that computed it."
    )
    notes: list[str]


class PositionResponse(PositionResult):
    request_id: str = Field(description="Made by the server: the id feedback refers to.")
    client_request_id: str | None = Field(
        default=None, description="Your X-Request-ID, if you sent one (for correlation only)."
    )
    cache: Literal["hit", "miss", "off"] = Field(
        description="hit: your own earlier identical request's answer (entries are per caller)."
    )


class BatchItemResult(BaseModel):
    index: int
    request_id: str = Field(description="Of this item (for feedback): <request id>-<index>.")
    ok: bool
    result: PositionResponse | None = None
    error: ErrorBody | None = None


class BatchResponse(BaseModel):
    request_id: str
    client_request_id: str | None = None
    succeeded: int
    failed: int
    results: list[BatchItemResult]
