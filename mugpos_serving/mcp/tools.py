"""The MCP server: tools and resources over the REST API (see :mod:`.backend`).

Every tool has a typed input schema (from the same pydantic models as the REST bodies), a
structured output with its schema (the REST answer models) and hints: read-only tools change
nothing; ``create_rule`` adds (not idempotent: a second call with the same id is refused);
``submit_feedback`` replaces an earlier feedback on the same request (destructive) and is
idempotent under its key. A failure is a tool error (``isError``) whose text is our
``code: message`` and whose structured content is our error body; never a stack trace.
"""

import base64
import json
import logging
from collections.abc import Awaitable
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp_types import CallToolResult, ImageContent, TextContent, ToolAnnotations
from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python

from mugpos.detections import Detection
from mugpos.positioning.safety import Safety
from mugpos.positioning.targets import Target
from mugpos.positioning.zones import Grid
from mugpos.rules.schema import Rule
from mugpos.units import Scale
from mugpos_serving.mcp.backend import AUTH_SCOPE_KEY, CALLER, RestBackend, ToolFailure
from mugpos_serving.schemas.feedback import (
    CorrectedDetection,
    CorrectedPosition,
    FeedbackResponse,
)
from mugpos_serving.schemas.models import ModelsOut
from mugpos_serving.schemas.positions import PositionOptions, PositionResponse
from mugpos_serving.schemas.rules import EvaluateResponse, ParseResponse
from mugpos_serving.schemas.search import SearchResponse

INSTRUCTIONS = """\
mugpos finds mugs in desk photos and judges their placement against rules ("keep mugs 10 cm \
from the laptop"). analyze_image takes a photo (base64, or a URL when the server allows URL \
fetching) and returns detections, each mug's zone, clearances, rule results, a suggested move \
and a 0-100 score (null with a reason when no mug is found). parse_rule turns a sentence into \
a rule to check (it stores nothing); create_rule stores one. evaluate_layout checks rules \
against boxes you already have. Lengths are in px and % unless a scale is given."""

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


class RuleList(BaseModel):
    rules: list[Rule]


def _ok(data: Any, *extra: TextContent | ImageContent) -> CallToolResult:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return CallToolResult(
        content=[*extra, TextContent(type="text", text=text)], structured_content=data
    )


def _failed(f: ToolFailure) -> CallToolResult:
    code, message = f.error.get("code", "error"), f.error.get("message", "")
    return CallToolResult(
        content=[TextContent(type="text", text=f"{code}: {message}")],
        structured_content={"error": f.error, "status": f.status},
        is_error=True,
    )


async def _guard(call: Awaitable[CallToolResult]) -> CallToolResult:
    try:
        return await call
    except ToolFailure as f:
        return _failed(f)


def _invalid(message: str) -> CallToolResult:
    return _failed(ToolFailure(422, {"code": "invalid_request", "message": message, "details": {}}))


def summary(answer: dict[str, Any]) -> str:
    """A few words for the model reading the result: counts, score, worst problems."""
    scene = answer.get("scene") or {}
    mugs = answer.get("mugs") or []
    score = scene.get("score")
    scored = (
        scene.get("score_reason") or "not scored" if score is None else f"scene score {score}/100"
    )
    violated = [
        r["message"]
        for m in mugs
        for r in m.get("rule_results") or []
        if r.get("status") == "violated"
    ]
    parts = [f"{len(mugs)} mug(s) found, {scored}"]
    if violated:
        parts.append(f"{len(violated)} violation(s): " + "; ".join(violated[:5]))
    moves = [m["suggestion"]["message"] for m in mugs if (m.get("suggestion") or {}).get("needed")]
    if moves:
        parts.append("suggested: " + "; ".join(moves[:5]))
    parts.append(f"request_id {answer.get('request_id')} (for submit_feedback)")
    return ". ".join(parts)


def build_server(backend: RestBackend, *, version: str = "0.1.0") -> MCPServer:
    async def caller_from_request(ctx: Any, call_next: Any) -> Any:
        """Expose the verified Authorization of this MCP request to the tool or resource."""
        request = getattr(ctx, "request", None)
        token = CALLER.set(request.scope.get(AUTH_SCOPE_KEY) if request is not None else None)
        try:
            return await call_next(ctx)
        finally:
            CALLER.reset(token)

    # MCPServer() calls logging.basicConfig (a Rich handler on the root logger) unless the root
    # has a handler: hold one for the call, so the host process keeps its own logging.
    root, placeholder = logging.getLogger(), logging.NullHandler()
    root.addHandler(placeholder)
    try:
        mcp = MCPServer(
            "mugpos",
            title="mugpos: mug positioning",
            instructions=INSTRUCTIONS,
            version=version,
            middleware=[caller_from_request],
        )
    finally:
        root.removeHandler(placeholder)

    @mcp.tool(
        annotations=ToolAnnotations(
            title="Analyze a desk photo",
            read_only_hint=True,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=True,  # image_url fetches from the web when the server allows it
        )
    )
    async def analyze_image(
        image_base64: Annotated[
            str | None, Field(description="JPEG, PNG, WebP or GIF bytes, base64 (or a data: URL).")
        ] = None,
        image_url: Annotated[
            str | None,
            Field(max_length=2048, description="A public http(s) URL (if the server allows)."),
        ] = None,
        options: Annotated[
            PositionOptions | None,
            Field(description="Rules (inline or stored ids), target, scale, grid, similar."),
        ] = None,
        include_picture: Annotated[
            bool, Field(description="Also return the annotated picture (PNG image content).")
        ] = False,
    ) -> Annotated[CallToolResult, PositionResponse]:
        """Find the mugs in a photo and judge where each stands: detections, zones,
        clearances, rule results, the suggested move per mug and scores (a scene without a mug
        is not scored: score null with the reason)."""
        if (image_base64 is None) == (image_url is None):
            return _invalid("give exactly one of image_base64 or image_url")
        body: dict[str, Any] = {"image_base64": image_base64, "image_url": image_url}
        body = {k: v for k, v in body.items() if v is not None}
        if options is not None:
            body["options"] = options.model_dump(mode="json", exclude_unset=True)

        async def call() -> CallToolResult:
            answer = await backend.json("POST", "/v1/positions", json=body)
            extra: list[TextContent | ImageContent] = [
                TextContent(type="text", text=summary(answer))
            ]
            if include_picture:
                png = await backend.request(
                    "POST", "/v1/positions", params={"render": "png"}, json=body
                )
                data = base64.b64encode(png.content).decode("ascii")
                extra.append(ImageContent(type="image", data=data, mime_type="image/png"))
            return _ok(answer, *extra)

        return await _guard(call())

    @mcp.tool(annotations=READ_ONLY.model_copy(update={"title": "Read a placement rule"}))
    async def parse_rule(
        text: Annotated[
            str,
            Field(
                min_length=1,
                max_length=1000,
                description='A rule in plain language: "keep mugs 10 cm from the laptop".',
            ),
        ],
        rule_id: Annotated[str | None, Field(description="Id for the draft.")] = None,
    ) -> Annotated[CallToolResult, ParseResponse]:
        """Turn a sentence into draft rules with how each was understood (nothing is
        stored; pass a draft to create_rule, or inline to analyze_image)."""
        payload = {"text": text, **({"rule_id": rule_id} if rule_id else {})}
        return await _guard(_json_ok(backend.json("POST", "/v1/rules/parse", json=payload)))

    @mcp.tool(annotations=READ_ONLY.model_copy(update={"title": "List stored rules"}))
    async def list_rules(
        enabled: Annotated[
            bool | None, Field(description="Only enabled (or disabled) ones.")
        ] = None,
    ) -> Annotated[CallToolResult, RuleList]:
        """The stored placement rules (what analyze_image checks by default: the enabled)."""
        params = {} if enabled is None else {"enabled": str(enabled).lower()}

        async def call() -> CallToolResult:
            return _ok({"rules": await backend.json("GET", "/v1/rules", params=params)})

        return await _guard(call())

    @mcp.tool(
        annotations=ToolAnnotations(
            title="Store a rule",
            read_only_hint=False,
            destructive_hint=False,  # adds version 1 of a new rule; never overwrites
            idempotent_hint=False,  # the same id twice is refused (409)
            open_world_hint=False,
        )
    )
    async def create_rule(
        rule: Annotated[Rule, Field(description="The rule (e.g. a draft from parse_rule).")],
    ) -> Annotated[CallToolResult, Rule]:
        """Store a new rule (needs the rules:write scope). Enabled rules are checked by every
        analysis that names no rules."""
        body = to_jsonable_python(rule)
        return await _guard(_json_ok(backend.json("POST", "/v1/rules", json=body)))

    @mcp.tool(annotations=READ_ONLY.model_copy(update={"title": "Check rules on boxes"}))
    async def evaluate_layout(
        image_width: Annotated[float, Field(gt=0)],
        image_height: Annotated[float, Field(gt=0)],
        detections: Annotated[
            list[Detection], Field(max_length=500, description="Boxes in pixels, labels.")
        ],
        rules: Annotated[list[Rule] | None, Field(max_length=100)] = None,
        rule_ids: Annotated[list[str] | None, Field(max_length=100)] = None,
        target: Target | None = None,
        scale: Scale | None = None,
        grid: Grid | None = None,
        safety: Safety | None = None,
    ) -> Annotated[CallToolResult, EvaluateResponse]:
        """Rules against detections you already have (no image): rule results, suggested
        moves and scores. Without rules or rule_ids, the enabled stored rules."""
        given = {
            "image_width": image_width,
            "image_height": image_height,
            "detections": detections,
            "rules": rules,
            "rule_ids": rule_ids,
            "target": target,
            "scale": scale,
            "grid": grid,
            "safety": safety,
        }
        body = {k: to_jsonable_python(v) for k, v in given.items() if v is not None}
        return await _guard(_json_ok(backend.json("POST", "/v1/rules/evaluate", json=body)))

    @mcp.tool(annotations=READ_ONLY.model_copy(update={"title": "Find similar scenes"}))
    async def search_similar(
        text: Annotated[
            str | None, Field(max_length=500, description="Words (needs a CLIP embedder).")
        ] = None,
        image_base64: Annotated[str | None, Field(description="A photo, base64.")] = None,
        image_url: Annotated[str | None, Field(max_length=2048)] = None,
        k: Annotated[int, Field(ge=1, le=100)] = 10,
        has_mug: bool | None = None,
        labels: Annotated[
            list[str] | None, Field(max_length=20, description="All must occur.")
        ] = None,
    ) -> Annotated[CallToolResult, SearchResponse]:
        """Corpus scenes nearest a text or a photo. Text search needs an embedder with a text
        tower (CLIP); the offline default model has none and says so."""
        given = [v is not None for v in (text, image_base64, image_url)]
        if sum(given) != 1:
            return _invalid("give exactly one of text, image_base64 or image_url")
        if text is not None:
            params: dict[str, Any] = {"text": text, "k": k}
            if has_mug is not None:
                params["has_mug"] = str(has_mug).lower()
            if labels:
                params["labels"] = labels
            return await _guard(_json_ok(backend.json("GET", "/v1/search", params=params)))
        body: dict[str, Any] = {"k": k, "labels": labels or []}
        if has_mug is not None:
            body["has_mug"] = has_mug
        body.update({"image_base64": image_base64} if image_base64 else {"image_url": image_url})
        return await _guard(_json_ok(backend.json("POST", "/v1/search", json=body)))

    @mcp.tool(
        annotations=ToolAnnotations(
            title="Say whether an analysis was right",
            read_only_hint=False,
            destructive_hint=True,  # replaces an earlier feedback on the same request
            idempotent_hint=True,  # the same key and body again change nothing
            open_world_hint=False,
        )
    )
    async def submit_feedback(
        request_id: Annotated[str, Field(description="From analyze_image's answer.")],
        correct: bool,
        idempotency_key: Annotated[
            str,
            Field(
                min_length=8,
                max_length=128,
                pattern=r"^[A-Za-z0-9._:-]+$",
                description="Unique per feedback: a retry with the same key and the same "
                "feedback is answered from the first; with other feedback it is refused.",
            ),
        ],
        corrected_detections: Annotated[
            list[CorrectedDetection] | None, Field(max_length=200)
        ] = None,
        corrected_positions: Annotated[
            list[CorrectedPosition] | None, Field(max_length=200)
        ] = None,
        comment: Annotated[str | None, Field(max_length=2000)] = None,
    ) -> Annotated[CallToolResult, FeedbackResponse]:
        """Store a correction to an analysis you made (it becomes evaluation data)."""
        body: dict[str, Any] = {"request_id": request_id, "correct": correct}
        extra = {
            "corrected_detections": corrected_detections,
            "corrected_positions": corrected_positions,
            "comment": comment,
        }
        body.update({k: to_jsonable_python(v) for k, v in extra.items() if v is not None})
        headers = {"Idempotency-Key": idempotency_key}
        return await _guard(
            _json_ok(backend.json("POST", "/v1/feedback", json=body, headers=headers))
        )

    @mcp.tool(annotations=READ_ONLY.model_copy(update={"title": "List the models"}))
    async def list_models() -> Annotated[CallToolResult, ModelsOut]:
        """The served detector and embedder (manifest or offline default) and the catalog."""
        return await _guard(_json_ok(backend.json("GET", "/v1/models")))

    @mcp.resource(
        "mugpos://models/manifest",
        name="model-manifest",
        title="Model manifest",
        description="The manifest the Dagster model assets wrote: served models, files, sha256.",
        mime_type="application/json",
    )
    async def model_manifest() -> str:
        return await _resource(backend, "/v1/models/manifest")

    @mcp.resource(
        "mugpos://rules",
        name="rule-set",
        title="Enabled rule set",
        description="The enabled stored rules: what an analysis checks when it names none.",
        mime_type="application/json",
    )
    async def rule_set() -> str:
        return await _resource(backend, "/v1/rules", params={"enabled": "true"})

    return mcp


async def _json_ok(call: Awaitable[Any]) -> CallToolResult:
    return _ok(await call)


async def _resource(backend: RestBackend, path: str, **kwargs: Any) -> str:
    try:
        body = await backend.json("GET", path, **kwargs)
    except ToolFailure as f:
        raise ResourceError(str(f)) from None
    return json.dumps(body, indent=2, ensure_ascii=False)
