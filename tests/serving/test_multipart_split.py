"""The direct split of plain multipart bodies agrees with the full parser, and leaves every
body it does not understand to it."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.requests import Request

from mugpos_serving.inputs import _boundary, split_multipart


def encoded(files: list, data: dict) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://x/", files=files, data=data)
    return request.read(), request.headers["content-type"]


def starlette_parse(body: bytes, ctype: str) -> list[tuple[str, bool, bytes]]:
    async def parse() -> list[tuple[str, bool, bytes]]:
        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        scope = {"type": "http", "method": "POST", "headers": [(b"content-type", ctype.encode())]}
        out = []
        async with Request(scope, receive).form() as form:
            for name, value in form.multi_items():
                if isinstance(value, str):
                    out.append((name, False, value.encode()))
                else:
                    out.append((name, True, await value.read()))
        return out

    return asyncio.run(parse())


@pytest.mark.parametrize(
    "files, data",
    [
        ([("image", ("a.jpg", b"\xff\xd8" + bytes(range(256)) * 40, "image/jpeg"))], {}),
        (
            [
                ("images", ("1.png", b"\r\n--not-it\r\n", "image/png")),
                ("images", ("2.png", b"", "image/png")),
            ],
            {"options": '{"similar": 3}', "labels": ["mug", "laptop"]},
        ),
        ([("image", ("ünïcode name.jpg", b"x" * 10, "application/octet-stream"))], {"k": "5"}),
    ],
)
def test_split_agrees_with_the_full_parser(files: list, data: dict) -> None:
    body, ctype = encoded(files, data)
    boundary = _boundary(ctype)
    assert boundary is not None
    assert split_multipart(body, boundary, max_parts=40) == starlette_parse(body, ctype)


@pytest.mark.parametrize(
    "body",
    [
        b'preamble\r\n--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--b--',
        b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--b',  # no close
        b'--b\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--b--',
        b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",  # no name
        b'--b\r\nX-Other: 1\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--b--',
        b'--b\r\nContent-Disposition: form-data; name="a"\r\nx\r\n--b--',  # no blank line
        b"--b--",
    ],
)
def test_anything_unusual_is_left_to_the_full_parser(body: bytes) -> None:
    assert split_multipart(body, b"b", max_parts=40) is None
