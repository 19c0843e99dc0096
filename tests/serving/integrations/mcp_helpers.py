"""Running the official MCP SDK client against our servers (over HTTP or stdio) from sync
tests: each call opens a client, does its work, and closes it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

T = TypeVar("T")


def over_http(url: str, headers: dict[str, str], work: Callable[[Client], Awaitable[T]]) -> T:
    async def main() -> T:
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            return await work(client)

    return asyncio.run(main())


def text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")
