"""Reading request bodies: JSON into models, multipart uploads, base64 and URL images.

Routes that take an image accept JSON (base64 or URL) and multipart uploads on one path, so
they read the body here instead of through FastAPI's single-content-type body parameters.
Pydantic errors become the API's 422 validation error.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from python_multipart.multipart import parse_options_header
from starlette.datastructures import UploadFile

from mugpos_serving.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from mugpos_serving.schemas.positions import ImageSource
from mugpos_serving.urlfetch import ByteBudget, UrlFetcher

M = TypeVar("M", bound=BaseModel)


class InvalidBase64(InvalidRequest):
    code = "invalid_base64"


def content_kind(request: Request) -> str:
    """'json' or 'multipart', else 415."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        return "json"
    if ctype == "multipart/form-data":
        return "multipart"
    raise UnsupportedMediaType(
        f"unsupported content type {ctype or '(none)'}: send application/json or "
        "multipart/form-data",
        details={"content_type": ctype},
    )


def parse_model(model: type[M], raw: bytes | str, where: str = "body") -> M:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": (where, *e.get("loc", ()))} for e in exc.errors()]
        raise RequestValidationError(errors) from None


async def read_json(request: Request, model: type[M]) -> M:
    if content_kind(request) != "json":
        raise UnsupportedMediaType("send application/json")
    return parse_model(model, await request.body())


@dataclass
class Multipart:
    files: list[bytes]
    fields: dict[str, str]  # the last value of each text field
    lists: dict[str, list[str]]  # every value of each text field, in order


async def read_multipart(request: Request, file_field: str, max_files: int) -> Multipart:
    """The uploaded files under ``file_field`` and the text fields of a multipart body.

    The body is already bounded by the route's limit, so it is read whole and a plain body
    (each part: a ``Content-Disposition`` and at most a ``Content-Type``) is split directly,
    about three times cheaper than the streaming parser; anything else goes to Starlette's
    parser (python-multipart), which reads the same, already received bytes.
    """
    boundary = _boundary(request.headers.get("content-type", ""))
    if boundary is not None:
        simple = split_multipart(await request.body(), boundary, max_parts=max_files + 24)
        if simple is not None:
            n_files = sum(is_file for _, is_file, _ in simple)
            if n_files <= max_files + 8 and len(simple) - n_files <= 16:
                return _collect(simple, file_field)
    # A few more than allowed, so the route can answer "batch too large" rather than the
    # parser a bare 400.
    async with request.form(max_files=max_files + 8, max_fields=16) as form:
        files: list[bytes] = []
        fields: dict[str, str] = {}
        lists: dict[str, list[str]] = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name == file_field:
                    files.append(await value.read())
            else:
                fields[name] = value
                lists.setdefault(name, []).append(value)
    if not files:
        raise InvalidRequest(
            f"the multipart body has no {file_field!r} file", details={"field": file_field}
        )
    return Multipart(files, fields, lists)


def _boundary(content_type: str) -> bytes | None:
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary or len(boundary) > 200:
        return None
    return boundary


def split_multipart(
    body: bytes, boundary: bytes, *, max_parts: int
) -> list[tuple[str, bool, bytes]] | None:
    """(field name, is a file, content) of each part of a plain multipart body, or ``None``
    when the body is anything but plain (then the full parser decides)."""
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary)
    if chunks[0] != b"" or len(chunks) < 3 or len(chunks) - 2 > max_parts:
        return None
    if chunks[-1] not in (b"--", b"--\r\n"):
        return None
    parts = []
    for chunk in chunks[1:-1]:
        end = chunk.find(b"\r\n\r\n")
        if not chunk.startswith(b"\r\n") or end < 0:
            return None
        name, filename = None, None
        for line in chunk[2:end].split(b"\r\n"):
            key, sep, value = line.partition(b":")
            key = key.strip().lower()
            if not sep:
                return None
            if key == b"content-disposition":
                kind, params = parse_options_header(value.strip())
                if kind != b"form-data" or b"name" not in params:
                    return None
                name, filename = params[b"name"], params.get(b"filename")
            elif key != b"content-type":
                return None
        if name is None:
            return None
        try:
            parts.append((name.decode(), filename is not None, chunk[end + 4 :]))
        except UnicodeDecodeError:
            return None
    return parts


def _collect(parts: list[tuple[str, bool, bytes]], file_field: str) -> Multipart:
    files: list[bytes] = []
    fields: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    for name, is_file, content in parts:
        if is_file:
            if name == file_field:
                files.append(content)
            continue
        try:
            value = content.decode()
        except UnicodeDecodeError:
            raise InvalidRequest(f"form field {name!r} is not UTF-8 text") from None
        fields[name] = value
        lists.setdefault(name, []).append(value)
    if not files:
        raise InvalidRequest(
            f"the multipart body has no {file_field!r} file", details={"field": file_field}
        )
    return Multipart(files, fields, lists)


def decode_base64(text: str, max_bytes: int) -> bytes:
    """Bytes of a base64 string or ``data:`` URL, refusing oversize input before decoding it."""
    if text.startswith("data:"):
        header, _, text = text.partition(",")
        if not header.endswith(";base64"):
            raise InvalidBase64("a data: URL must be base64 encoded (data:<type>;base64,...)")
    if len(text) // 4 * 3 > max_bytes + 3:
        raise PayloadTooLarge(
            f"the image is larger than {max_bytes} bytes", details={"max_bytes": max_bytes}
        )
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    try:  # line-wrapped (MIME) base64 is common; strip whitespace only when needed
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidBase64("image_base64 is not valid base64") from None


async def image_bytes(
    source: ImageSource, fetcher: UrlFetcher, max_bytes: int, budget: ByteBudget | None = None
) -> bytes:
    if source.image_url is not None:
        return await fetcher.fetch(source.image_url, budget)
    assert source.image_base64 is not None
    return decode_base64(source.image_base64, max_bytes)
