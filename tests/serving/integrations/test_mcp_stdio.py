"""``mugpos mcp`` over stdio with the SDK's client: the API in the subprocess (scopes from the
command line), or forwarding to a running API with a token."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp_helpers import text_of
from serving_helpers import Uvicorn, base_env, coffee_pixels, png

pytestmark = pytest.mark.slow


def run(env: dict[str, str], args: list[str], work: Any) -> Any:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MUGPOS_")}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mugpos.cli", "mcp", *args], env={**clean, **env}
    )

    async def main() -> Any:
        async with Client(params, read_timeout_seconds=120) as client:
            return await work(client)

    return asyncio.run(main())


def test_stdio_runs_the_api_in_process_with_the_scopes_it_was_given(
    serving_home: Path, tmp_path: Path
) -> None:
    image = base64.b64encode(png(coffee_pixels())).decode()
    rule = {"id": "stdio", "name": "edge", "kind": "edge_clearance", "value": 5, "unit": "%"}

    async def work(client: Any) -> dict[str, Any]:
        tools = {t.name for t in (await client.list_tools()).tools}
        return {
            "tools": tools,
            "analysed": await client.call_tool("analyze_image", {"image_base64": image}),
            "write": await client.call_tool("create_rule", {"rule": rule}),
        }

    out = run(base_env(serving_home, tmp_path), ["--scope", "positions"], work)
    assert "analyze_image" in out["tools"] and len(out["tools"]) == 8
    assert not out["analysed"].is_error, text_of(out["analysed"])
    assert len(out["analysed"].structured_content["mugs"]) == 1
    # Started with positions only: writing rules is refused by the API, as over HTTP.
    assert out["write"].is_error and text_of(out["write"]).startswith("insufficient_scope:")


def test_stdio_forwards_to_a_running_api_with_its_token(integ: Uvicorn, make_token: Any) -> None:
    async def work(client: Any) -> Any:
        return await client.call_tool("list_models", {})

    env = {"MUGPOS_MCP_API_URL": integ.url, "MUGPOS_MCP_TOKEN": make_token("positions")}
    result = run(env, [], work)
    assert not result.is_error, text_of(result)
    assert result.structured_content["served"]["detector"]["id"] == "ssd-mobilenetv2-oidv4"
    denied = run({**env, "MUGPOS_MCP_TOKEN": "not-a-token"}, [], work)
    assert denied.is_error and text_of(denied).startswith("invalid_token:")
