"""One error shape for every failure: ``{"error": {"code", "message", "details"}}``.

Engine errors carry a ``code``; this module maps codes to HTTP statuses, so routes raise typed
errors and never build error responses themselves. Anything unexpected becomes a 500 with the
same shape and no traceback (the traceback goes to the server log).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mugpos.errors import ImageError, MugposError

log = logging.getLogger(__name__)


class ApiError(MugposError):
    """An error raised by the API layer itself, with its status and extra headers."""

    status_code = 400

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.headers = headers or {}


class Unauthorized(ApiError):
    code, status_code = "unauthorized", 401


class InvalidToken(ApiError):
    code, status_code = "invalid_token", 401


class TokenExpired(ApiError):
    code, status_code = "token_expired", 401


class InsufficientScope(ApiError):
    code, status_code = "insufficient_scope", 403


class NotFound(ApiError):
    code, status_code = "not_found", 404


class PayloadTooLarge(ApiError):
    code, status_code = "payload_too_large", 413


class UnsupportedMediaType(ApiError):
    code, status_code = "unsupported_media_type", 415


class InvalidRequest(ApiError):
    code, status_code = "invalid_request", 422


class BatchTooLarge(ApiError):
    code, status_code = "batch_too_large", 413


class RateLimited(ApiError):
    code, status_code = "rate_limited", 429


class Overloaded(ApiError):
    code, status_code = "overloaded", 503


class ServiceUnavailable(ApiError):
    code, status_code = "service_unavailable", 503


class RequestTimeout(ApiError):
    code, status_code = "timeout", 504


class UrlFetchDisabled(ApiError):
    code, status_code = "url_fetch_disabled", 403


class UrlNotAllowed(ApiError):
    code, status_code = "url_not_allowed", 422


class UrlFetchFailed(ApiError):
    code, status_code = "url_fetch_failed", 502


# Engine codes → statuses. Unlisted engine codes are the caller's fault (400) unless the class
# says otherwise; backends that are down answer 503 so clients retry rather than give up.
STATUS_BY_CODE: dict[str, int] = {
    "invalid_image": 422,
    "invalid_analysis_request": 422,
    "invalid_unit": 422,
    "unknown_zone": 422,
    "invalid_vector": 422,
    "rule_parse_error": 422,
    "rule_import_error": 422,
    "rule_not_found": 404,
    "rule_conflict": 409,
    "duplicate_document": 409,
    "unsupported_operation": 501,
    "model_unavailable": 503,
    "checksum_mismatch": 503,
    "object_store_error": 503,
    "document_store_error": 503,
    "vector_index_error": 503,
    "subscription_not_found": 404,
    "subscription_limit": 409,
    "delivery_not_found": 404,
    "card_render_failed": 502,
}


_TOO_BIG = frozenset({"max_bytes", "max_pixels", "max_decode_bytes"})


def status_for(exc: MugposError) -> int:
    if isinstance(exc, ApiError):
        return exc.status_code
    if isinstance(exc, ImageError) and _TOO_BIG.intersection(exc.details):
        return 413  # too big: a different fix (resize) than a corrupt file
    return STATUS_BY_CODE.get(exc.code, 400)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def mugpos_error_body(exc: MugposError) -> tuple[int, dict[str, Any]]:
    """The status and body of an engine or API error (the API's and the RunPod worker's)."""
    return status_for(exc), error_body(exc.code, exc.message, _jsonable(exc.details))


async def _mugpos_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MugposError)
    status, body = mugpos_error_body(exc)
    if status >= 500:
        log.warning("%s %s → %d %s: %s", request.method, request.url.path, status, exc.code, exc)
    headers = exc.headers if isinstance(exc, ApiError) else None
    return JSONResponse(body, status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return validation_response(exc.errors())


def validation_response(errors: Any) -> JSONResponse:
    return JSONResponse(validation_error_body(errors), status_code=422)


def validation_error_body(errors: Any) -> dict[str, Any]:
    """The 422 body for pydantic errors (the API's and the RunPod worker's)."""
    # Only where and what: "input" could echo megabytes of base64 back to the client.
    items = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in errors
    ]
    first = items[0] if items else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return error_body(
        "validation_error",
        f"{where}: {first['msg']}" if where else first["msg"],
        {"errors": items},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
    }
    code = codes.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, None, dict(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return internal_error_response()


def internal_error_response() -> JSONResponse:
    return error_response(500, "internal_error", "internal server error (logged on the server)")


def _jsonable(details: dict[str, object]) -> dict[str, Any]:
    """Details may hold tuples or paths; keep what JSON can carry, stringify the rest."""
    out: dict[str, Any] = {}
    for k, v in details.items():
        if isinstance(v, str | int | float | bool | type(None)):
            out[k] = v
        elif isinstance(v, list | tuple):
            out[k] = [x if isinstance(x, str | int | float | bool) else str(x) for x in v]
        elif isinstance(v, dict):
            out[k] = _jsonable(v)
        else:
            out[k] = str(v)
    return out


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MugposError, _mugpos_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
