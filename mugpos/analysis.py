"""One analysis: image → detections → positions → rule results → suggestions → scores.

The API, the evaluation harness and the Dagster assets all call :func:`analyze`, so there is one
inference path. Each stage is timed (ms) in the result. With an ``SsdMobileNetV2`` detector the
scene embedding comes from the same forward pass and is returned too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mugpos.detections import Detection
from mugpos.errors import MugposError
from mugpos.images import DecodedImage, decode_image
from mugpos.models.base import DEFAULT_SCORE_THRESHOLD, Detector
from mugpos.positioning.alignment import DEFAULT_TOLERANCE_PCT
from mugpos.positioning.constraints import NEEDS_SCALE, MugConstraints, PreparedRule, prepare_rules
from mugpos.positioning.frame import build_frame
from mugpos.positioning.models import SceneLayout, Scores, Suggestion
from mugpos.positioning.safety import PlanBudget, Safety
from mugpos.positioning.scene import describe
from mugpos.positioning.score import NO_MUG, score_scene
from mugpos.positioning.suggest import Plan, plan_moves, suggest_moves
from mugpos.positioning.targets import Target
from mugpos.positioning.zones import Grid
from mugpos.rules.evaluate import evaluate_prepared
from mugpos.rules.results import RuleResult
from mugpos.rules.schema import Rule, RuleSet, rules_hash
from mugpos.units import Scale

ImageInput = np.ndarray | bytes | str | Path | DecodedImage


class AnalysisError(MugposError):
    """The request cannot be analysed as given (no detector and no detections, no image size)."""

    code = "invalid_analysis_request"


class AnalysisOptions(BaseModel):
    """Everything about an analysis except its input: rules, target, scale and grid."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[Rule, ...] = ()
    target: Target = Field(default_factory=Target)
    scale: Scale | None = None
    grid: Grid = Field(default_factory=Grid)
    score_threshold: float = Field(default=DEFAULT_SCORE_THRESHOLD, ge=0.0, le=1.0)
    alignment_tolerance_pct: float = Field(
        default=DEFAULT_TOLERANCE_PCT, gt=0.0, le=100.0, description="For the reported groups."
    )
    safety: Safety = Field(
        default_factory=Safety, description="Implicit hard constraints of every plan."
    )
    budget: PlanBudget | None = Field(
        default=None, description="The planner's work budget; default: from the settings."
    )

    @field_validator("rules", mode="before")
    @classmethod
    def _from_rule_set(cls, v: object) -> object:
        return v.rules if isinstance(v, RuleSet) else v

    @field_validator("rules")
    @classmethod
    def _unique(cls, v: tuple[Rule, ...]) -> tuple[Rule, ...]:
        return RuleSet(rules=v).rules


class ImageInfo(BaseModel):
    model_config = ConfigDict(frozen=True)
    width: float
    height: float
    sha256: str | None = None


class AnalysisResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    image: ImageInfo
    model_id: str | None
    detections: list[Detection]
    layout: SceneLayout
    rules_hash: str
    rule_results: list[RuleResult]
    suggestions: list[Suggestion]
    scores: Scores
    embedding: list[float] | None = Field(default=None, repr=False)
    partial: bool = Field(
        default=False,
        description="The planner's work budget ran out: suggestions are the best plan so far.",
    )
    timings_ms: dict[str, float]
    notes: list[str]


def _pixels(image: ImageInput) -> tuple[np.ndarray, str | None]:
    if isinstance(image, DecodedImage):
        return image.pixels, image.sha256
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise AnalysisError(
                f"image array must be H x W x 3 uint8, got {image.shape} {image.dtype}"
            )
        return image, None
    decoded = decode_image(image)
    return decoded.pixels, decoded.sha256


def analyze(
    image: ImageInput | None = None,
    *,
    detector: Detector | None = None,
    detections: Sequence[Detection] | None = None,
    image_size: tuple[float, float] | None = None,
    options: AnalysisOptions | None = None,
) -> AnalysisResult:
    """Analyse one scene from an image and a detector, or from precomputed detections.

    ``image_size`` (width, height) is needed only with detections and no image. Raises
    :class:`AnalysisError` for an incomplete request, ``ImageError`` for an undecodable image
    and ``SceneError`` for a scene that cannot be positioned (non-finite boxes or size).
    """
    opts = options or AnalysisOptions()
    t0 = time.perf_counter()
    marks: dict[str, float] = {}
    pixels, sha, embedding, model_id = None, None, None, None
    if image is not None:
        pixels, sha = _pixels(image)
        image_size = (pixels.shape[1], pixels.shape[0])
    marks["decode"] = time.perf_counter()
    if detections is None:
        if detector is None or pixels is None:
            raise AnalysisError("give an image and a detector, or precomputed detections")
        scene = detector.detect_scene(pixels, score_threshold=opts.score_threshold)
        dets = scene.detections
        if scene.embedding is not None:
            embedding = scene.embedding.astype(float).tolist()
        model_id = detector.id
    else:
        if detector is not None:
            raise AnalysisError("give a detector or precomputed detections, not both")
        dets = [d for d in detections if d.score >= opts.score_threshold]
        model_id = dets[0].model_id if dets else None
    if image_size is None:
        raise AnalysisError("image_size (width, height) is needed when no image is given")
    marks["detect"] = time.perf_counter()

    frame = build_frame(
        dets, image_size[0], image_size[1], scale=opts.scale, grid=opts.grid, target=opts.target
    )
    layout = describe(frame, dets, alignment_tolerance_pct=opts.alignment_tolerance_pct)
    marks["position"] = time.perf_counter()
    safety = opts.safety
    prepared = prepare_rules(opts.rules, frame, safety)
    mugs = [MugConstraints(frame, prepared, m, b, safety) for m, b in enumerate(frame.mugs)]
    results = evaluate_prepared(prepared, frame, mugs=mugs)
    marks["rules"] = time.perf_counter()
    plan = plan_moves(frame, prepared, mugs, safety, opts.budget)
    suggestions = suggest_moves(frame, prepared, plan)
    marks["suggest"] = time.perf_counter()
    scores = score_scene(results, len(frame.mugs))
    marks["score"] = time.perf_counter()

    timings, prev = {}, t0
    for stage, t in marks.items():
        timings[stage] = round((t - prev) * 1000.0, 3)
        prev = t
    timings["total"] = round((prev - t0) * 1000.0, 3)
    return AnalysisResult(
        image=ImageInfo(width=float(image_size[0]), height=float(image_size[1]), sha256=sha),
        model_id=model_id,
        detections=list(dets),
        layout=layout,
        rules_hash=rules_hash(opts.rules),
        rule_results=results,
        suggestions=suggestions,
        scores=scores,
        embedding=embedding,
        partial=plan.partial,
        timings_ms=timings,
        notes=[
            *_notes(opts, frame.scale is None, frame.work_area_source, len(frame.mugs), prepared),
            *_plan_notes(plan),
        ],
    )


def _notes(
    opts: AnalysisOptions,
    no_scale: bool,
    source: str,
    n_mugs: int,
    prepared: Sequence[PreparedRule],
) -> list[str]:
    notes = []
    if n_mugs == 0:
        notes.append(NO_MUG)
    if source == "image":
        notes.append("no table or desk detected: the whole image is the work area")
    if opts.scale is not None and no_scale and opts.scale.reference is not None:
        notes.append(
            f"reference object {opts.scale.reference.label!r} not detected: no scale, "
            "so lengths are in px and % only"
        )
    skipped = [p.rule.id for p in prepared if p.not_applicable == NEEDS_SCALE]
    if skipped:
        notes.append(f"rules not checked for lack of a scale: {', '.join(skipped)}")
    missing: dict[str, list[str]] = {}
    for p in prepared:
        if p.not_found is not None:
            missing.setdefault(p.not_found, []).append(p.rule.id)
    for what, ids in missing.items():
        notes.append(f"{what}: rules {', '.join(ids)} not checked (missed or absent)")
    return notes


def _plan_notes(plan: Plan) -> list[str]:
    if not plan.partial:
        return []
    cause = {
        "time": "its time budget",
        "candidates": "its candidate budget",
        "iterations": "its iteration limit",
    }.get(plan.why, plan.why)
    note = f"partial plan: the move planner reached {cause}; suggestions are the best so far"
    if plan.unplanned:
        first = sorted(plan.unplanned)
        shown = ", ".join(str(m) for m in first[:10]) + (" ..." if len(first) > 10 else "")
        note += f" ({len(first)} mugs never planned: {shown})"
    return [note]
