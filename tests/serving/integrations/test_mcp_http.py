"""The MCP server at /mcp, driven by the official SDK's client over real HTTP against uvicorn:
tools with their schemas and hints, every tool called, resources, auth and scopes, errors."""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError
from mcp_helpers import over_http, text_of
from PIL import Image
from serving_helpers import Uvicorn, assert_error, coffee_pixels, png, unique_coffee

TOOLS = {
    "analyze_image", "parse_rule", "list_rules", "create_rule", "evaluate_layout",
    "search_similar", "submit_feedback", "list_models",
}  # fmt: skip


def test_tools_are_listed_with_schemas_and_hints(
    integ: Uvicorn, bearer: Callable[..., dict[str, str]]
) -> None:
    async def work(client: Any) -> Any:
        return (await client.list_tools()).tools, (await client.list_resources()).resources

    tools, resources = over_http(integ.url, bearer("positions"), work)
    by_name = {t.name: t for t in tools}
    assert set(by_name) == TOOLS
    for tool in tools:
        assert tool.input_schema["type"] == "object" and tool.description
        assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
    analyze = by_name["analyze_image"]
    assert {"image_base64", "image_url", "options", "include_picture"} <= set(
        analyze.input_schema["properties"]
    )
    assert "mugs" in analyze.output_schema["properties"]
    for name in ("analyze_image", "parse_rule", "list_rules", "evaluate_layout", "list_models"):
        a = by_name[name].annotations
        assert a.read_only_hint is True and a.destructive_hint is False, name
    create = by_name["create_rule"].annotations
    assert (create.read_only_hint, create.destructive_hint, create.idempotent_hint) == (
        False, False, False,
    )  # fmt: skip
    feedback = by_name["submit_feedback"].annotations
    assert (feedback.read_only_hint, feedback.destructive_hint, feedback.idempotent_hint) == (
        False, True, True,
    )  # fmt: skip
    assert "idempotency_key" in by_name["submit_feedback"].input_schema["required"]
    assert {str(r.uri) for r in resources} == {"mugpos://models/manifest", "mugpos://rules"}


def test_analyze_image_returns_the_analysis_and_the_picture(
    integ: Uvicorn, api: httpx.Client, bearer: Callable[..., dict[str, str]]
) -> None:
    image = png(coffee_pixels())
    rules = [
        {"id": "edge", "name": "edge ≥ 20%", "kind": "edge_clearance", "value": 20, "unit": "%"}
    ]
    args = {
        "image_base64": base64.b64encode(image).decode(),
        "options": {"rules": rules},
        "include_picture": True,
    }

    async def work(client: Any) -> Any:
        return await client.call_tool("analyze_image", args)

    result = over_http(integ.url, bearer("positions"), work)
    assert not result.is_error, text_of(result)
    answer = result.structured_content
    # The same answer REST gives for the same request (one implementation behind both).
    rest = api.post(
        "/v1/positions",
        json={"image_base64": args["image_base64"], "options": {"rules": rules}},
        headers=bearer("positions"),
    ).json()
    assert answer["mugs"] == rest["mugs"] and answer["scene"] == rest["scene"]
    assert len(answer["mugs"]) == 1 and answer["mugs"][0]["rule_results"][0]["status"] == "violated"
    pictures = [c for c in result.content if c.type == "image"]
    assert len(pictures) == 1 and pictures[0].mime_type == "image/png"
    drawn = Image.open(io.BytesIO(base64.b64decode(pictures[0].data)))
    assert drawn.size == (600, 400)
    assert "1 mug(s) found" in text_of(result) and answer["request_id"] in text_of(result)

    from skimage import data

    async def cat(client: Any) -> Any:
        return await client.call_tool(
            "analyze_image", {"image_base64": base64.b64encode(png(data.chelsea())).decode()}
        )

    nothing = over_http(integ.url, bearer("positions"), cat)
    assert not nothing.is_error and nothing.structured_content["scene"]["score"] is None
    assert "0 mug(s) found, no mug found: not scored" in text_of(nothing)


def test_rules_evaluate_search_feedback_and_models(
    integ: Uvicorn, api: httpx.Client, bearer: Callable[..., dict[str, str]]
) -> None:
    rule_id = f"mcp-{uuid.uuid4().hex[:8]}"
    detections = [
        {"label": "mug", "raw_label": "Mug", "score": 0.9,
         "box": {"x1": 100, "y1": 200, "x2": 160, "y2": 270}},
        {"label": "laptop", "raw_label": "Laptop", "score": 0.8,
         "box": {"x1": 180, "y1": 120, "x2": 520, "y2": 400}},
    ]  # fmt: skip
    feedback_key = f"fb-{uuid.uuid4().hex}"
    image_b64 = base64.b64encode(unique_coffee()).decode()

    async def work(client: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        parsed = await client.call_tool(
            "parse_rule", {"text": "Keep mugs at least 10 cm from the laptop", "rule_id": rule_id}
        )
        out["parsed"] = parsed
        draft = parsed.structured_content["rules"][0]["rule"]
        out["created"] = await client.call_tool("create_rule", {"rule": draft})
        out["again"] = await client.call_tool("create_rule", {"rule": draft})
        out["listed"] = await client.call_tool("list_rules", {})
        pct = {**draft, "id": "pct", "value": 15, "unit": "%"}
        out["evaluated"] = await client.call_tool(
            "evaluate_layout",
            {"image_width": 640, "image_height": 480, "detections": detections, "rules": [pct]},
        )
        out["by_image"] = await client.call_tool(
            "search_similar", {"image_base64": image_b64, "k": 2}
        )
        out["by_text"] = await client.call_tool("search_similar", {"text": "a mug on a desk"})
        out["both"] = await client.call_tool(
            "search_similar", {"text": "x", "image_base64": image_b64}
        )
        analysed = await client.call_tool("analyze_image", {"image_base64": image_b64})
        request_id = analysed.structured_content["request_id"]
        fb = {"request_id": request_id, "correct": True, "idempotency_key": feedback_key}
        out["fb1"] = await client.call_tool("submit_feedback", fb)
        out["fb2"] = await client.call_tool("submit_feedback", fb)
        out["fb3"] = await client.call_tool("submit_feedback", {**fb, "correct": False})
        out["models"] = await client.call_tool("list_models", {})
        out["rule_set"] = await client.read_resource("mugpos://rules")
        return out

    out = over_http(integ.url, bearer("positions", "rules:write"), work)
    for name, result in out.items():
        if name not in ("again", "by_text", "both", "fb3", "rule_set"):
            assert not result.is_error, (name, text_of(result))
    parsed = out["parsed"].structured_content["rules"][0]
    assert parsed["rule"]["kind"] == "object_clearance" and parsed["rule"]["value"] == 10
    assert out["created"].structured_content["id"] == rule_id
    assert out["again"].is_error and text_of(out["again"]).startswith("rule_conflict:")
    assert out["again"].structured_content["status"] == 409
    assert rule_id in {r["id"] for r in out["listed"].structured_content["rules"]}
    evaluated = out["evaluated"].structured_content
    pct = {**out["created"].structured_content, "id": "pct", "value": 15, "unit": "%"}
    body = {"image_width": 640, "image_height": 480, "detections": detections, "rules": [pct]}
    rest = api.post("/v1/rules/evaluate", json=body, headers=bearer("positions")).json()
    assert evaluated["rule_results"] == rest["rule_results"]
    assert evaluated["rule_results"][0]["status"] == "violated"
    hits = out["by_image"].structured_content["hits"]
    assert hits[0]["payload"]["name"] == "coffee" and hits[0]["score"] > 0.9
    assert out["by_text"].is_error  # the offline model has no text tower, and says so
    assert text_of(out["by_text"]).startswith("unsupported_operation:")
    assert out["both"].is_error and "exactly one" in text_of(out["both"])
    first, second = out["fb1"].structured_content, out["fb2"].structured_content
    assert first == second  # answered from the first (same stored_at)
    assert out["fb3"].is_error and text_of(out["fb3"]).startswith("idempotency_key_reused:")
    models = out["models"].structured_content
    assert models["served"]["detector"]["id"] == "ssd-mobilenetv2-oidv4"
    assert {m["id"] for m in models["catalog"]} >= {"ssd-mobilenetv2-oidv4", "yolov8n"}
    rules_text = out["rule_set"].contents[0].text
    assert rule_id in rules_text


def test_without_a_token_the_endpoint_refuses_and_scopes_are_those_of_rest(
    integ: Uvicorn, bearer: Callable[..., dict[str, str]]
) -> None:
    init = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    plain = httpx.post(f"{integ.url}/mcp", json=init, timeout=10)
    assert_error(plain, 401, "unauthorized")
    assert plain.headers["www-authenticate"].startswith("Bearer")
    forged = httpx.post(
        f"{integ.url}/mcp", json=init, headers={"Authorization": "Bearer not-a-token"}, timeout=10
    )
    assert_error(forged, 401, "invalid_token")
    with pytest.raises(Exception):  # noqa: B017 - the SDK's own error for a 401
        over_http(integ.url, {}, lambda c: c.list_tools())

    rule = {"id": "x-scope", "name": "n", "kind": "edge_clearance", "value": 5, "unit": "%"}

    async def write(client: Any) -> Any:
        return await client.call_tool("create_rule", {"rule": rule})

    refused = over_http(integ.url, bearer("positions"), write)
    assert refused.is_error and text_of(refused).startswith("insufficient_scope:")
    assert refused.structured_content["error"]["details"]["required"] == "rules:write"

    async def analyse(client: Any) -> Any:
        return await client.call_tool("analyze_image", {"image_base64": "AAAA"})

    no_positions = over_http(integ.url, bearer("rules:write"), analyse)
    assert no_positions.is_error and text_of(no_positions).startswith("insufficient_scope:")


def test_errors_are_tool_errors_with_our_message_never_a_traceback(
    integ: Uvicorn, bearer: Callable[..., dict[str, str]]
) -> None:
    async def work(client: Any) -> list[Any]:
        return [
            await client.call_tool("analyze_image", {"image_base64": "not base64 at all!"}),
            await client.call_tool(
                "analyze_image", {"image_base64": base64.b64encode(b"GIF89a junk").decode()}
            ),
            await client.call_tool("analyze_image", {}),
            await client.call_tool(
                "evaluate_layout", {"image_width": -1, "image_height": 5, "detections": []}
            ),
        ]

    results = over_http(integ.url, bearer("positions"), work)
    codes = [text_of(r).split(":", 1)[0] for r in results]
    assert all(r.is_error for r in results)
    assert codes[:3] == ["invalid_base64", "invalid_image", "invalid_request"]
    for r in results:
        assert "Traceback" not in text_of(r) and 'File "' not in text_of(r)

    async def manifest(client: Any) -> Any:
        try:
            return await client.read_resource("mugpos://models/manifest")
        except MCPError as exc:
            return exc

    refused = over_http(integ.url, bearer("positions"), manifest)
    assert isinstance(refused, MCPError)  # a protocol error for a resource, with our message
    assert "manifest_not_found" in str(refused) and "Traceback" not in str(refused)
