"""Stored rules (versioned), plain-language parsing and evaluation against given detections.

Handlers are plain functions: FastAPI runs them on its thread pool, which is where document
store calls belong (they block). Evaluation is CPU work: it runs in the bounded worker pool.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from mugpos.analysis import AnalysisOptions, analyze
from mugpos.positioning.safety import PlanBudget
from mugpos.rules.parser import parse_rules
from mugpos.rules.schema import ID_PATTERN, Rule
from mugpos_serving.deps import AnyCaller, PositionsCaller, RulesWriter, get_services
from mugpos_serving.schemas.common import error_responses
from mugpos_serving.schemas.rules import (
    EvaluateRequest,
    EvaluateResponse,
    ParsedRuleOut,
    ParseRequest,
    ParseResponse,
    RestoreRequest,
    RuleChanges,
    RuleVersionOut,
)

router = APIRouter(prefix="/v1/rules", tags=["rules"])
# Serialised on the worker thread too: 50 000 rule results are tens of ms of JSON encoding.
_EVALUATED = EvaluateResponse.__pydantic_serializer__.to_json
RuleId = Annotated[
    str, Path(pattern=ID_PATTERN, description="The rule's id.", examples=["rule-laptop-10cm"])
]
_READ = error_responses(401, 403, 404, 429, 503)
_WRITE = error_responses(401, 403, 404, 409, 422, 429, 503)


@router.get("", response_model=list[Rule], responses=_READ, summary="List stored rules")
def list_rules(
    request: Request,
    _: AnyCaller,
    enabled: Annotated[bool | None, Query(description="Only enabled (or disabled) rules.")] = None,
) -> list[Rule]:
    return get_services(request).rule_store().repository.list(enabled=enabled)


@router.post(
    "",
    response_model=Rule,
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE,
    summary="Store a new rule (version 1)",
)
def create_rule(request: Request, rule: Rule, _: RulesWriter) -> Rule:
    source = get_services(request).rule_store()
    created = source.repository.create(rule)
    source.invalidate()
    return created


@router.post(
    "/parse",
    response_model=ParseResponse,
    responses=error_responses(401, 403, 422, 429),
    summary="Plain language → draft rules",
)
def parse(body: ParseRequest, _: AnyCaller) -> ParseResponse:
    """Nothing is stored: show each interpretation, then POST the rules to /v1/rules. A
    sentence with several rules ("at least 5 cm from the edge and never on the keyboard")
    gives one draft per rule, in order; one that yields no complete rule, or permits rather
    than requires, answers 422 ``rule_parse_error`` with the reason and suggestions."""
    parsed = parse_rules(body.text, rule_id=body.rule_id)
    return ParseResponse(
        text=body.text,
        rules=[ParsedRuleOut.model_validate(p.model_dump()) for p in parsed],
    )


@router.post(
    "/evaluate",
    response_model=EvaluateResponse,
    responses=error_responses(401, 403, 404, 422, 429, 503),
    summary="Check rules against detections you already have",
)
async def evaluate(request: Request, body: EvaluateRequest, _: PositionsCaller) -> Response:
    """The planner runs in the bounded worker pool under the work budget
    (``MUGPOS_PLAN_TIME_BUDGET_S``, ``MUGPOS_PLAN_MAX_CANDIDATES``): a scene too big to plan in
    time gets the best plan so far, marked ``partial``, and the job stops with it."""
    services = get_services(request)
    if body.rules is not None:
        rules = tuple(body.rules)
    else:
        source = services.rule_store()
        load = partial(source.by_ids, body.rule_ids) if body.rule_ids is not None else None
        rules = await run_in_threadpool(load or source.load_enabled)
    settings = services.settings
    try:
        options = AnalysisOptions(
            rules=rules,
            target=body.target,
            scale=body.scale,
            grid=body.grid,
            score_threshold=0.0,
            safety=body.safety,
            budget=PlanBudget(
                time_s=settings.plan_time_budget_s, max_candidates=settings.plan_max_candidates
            ),
        )
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None

    def job() -> bytes:
        result = analyze(
            detections=body.detections,
            image_size=(body.image_width, body.image_height),
            options=options,
        )
        return _EVALUATED(
            EvaluateResponse(
                rules_hash=result.rules_hash,
                rule_results=result.rule_results,
                suggestions=result.suggestions,
                mug_scores=result.scores.mugs,
                scene_score=result.scores.scene,
                score_reason=result.scores.reason,
                partial=result.partial,
                notes=result.notes,
            )
        )

    return Response(await services.pool.run(job), media_type="application/json")


@router.get("/{rule_id}", response_model=Rule, responses=_READ, summary="Read a rule")
def get_rule(request: Request, rule_id: RuleId, _: AnyCaller) -> Rule:
    return get_services(request).rule_store().repository.get(rule_id)


@router.patch(
    "/{rule_id}", response_model=Rule, responses=_WRITE, summary="Change a rule (new version)"
)
def update_rule(
    request: Request,
    changes: RuleChanges,
    rule_id: RuleId,
    _: RulesWriter,
) -> Rule:
    source = get_services(request).rule_store()
    try:
        updated = source.repository.update(
            rule_id, changes.changes(), expected_version=changes.expected_version
        )
    except ValidationError as exc:  # the changed rule as a whole is invalid
        raise RequestValidationError(exc.errors()) from None
    source.invalidate()
    return updated


@router.delete(
    "/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_WRITE,
    summary="Delete a rule and its history",
)
def delete_rule(request: Request, rule_id: RuleId, _: RulesWriter) -> Response:
    source = get_services(request).rule_store()
    source.repository.delete(rule_id)
    source.invalidate()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{rule_id}/versions",
    response_model=list[RuleVersionOut],
    responses=_READ,
    summary="Every version of a rule, oldest first",
)
def rule_versions(request: Request, rule_id: RuleId, _: AnyCaller) -> list[RuleVersionOut]:
    history = get_services(request).rule_store().repository.history(rule_id)
    return [
        RuleVersionOut(
            version=v.rule.version,
            action=v.action,
            created_at=v.created_at,
            restored_from=v.restored_from,
            rule=v.rule,
        )
        for v in history
    ]


@router.get(
    "/{rule_id}/versions/{version}",
    response_model=Rule,
    responses=_READ,
    summary="One version of a rule",
)
def rule_version(
    request: Request,
    rule_id: RuleId,
    version: Annotated[int, Path(ge=1)],
    _: AnyCaller,
) -> Rule:
    return get_services(request).rule_store().repository.get_version(rule_id, version)


@router.post(
    "/{rule_id}/restore",
    response_model=Rule,
    responses=_WRITE,
    summary="Make an old version's content the newest version",
)
def restore_rule(
    request: Request,
    body: RestoreRequest,
    rule_id: RuleId,
    _: RulesWriter,
) -> Rule:
    source = get_services(request).rule_store()
    restored = source.repository.restore(rule_id, body.version)
    source.invalidate()
    return restored
