"""The auth matrix against a real uvicorn process, the explicit auth-off switch, rate limits."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from serving_helpers import SECRET, assert_error, coffee_pixels, jpeg

from mugpos_serving.auth import AuthConfigError, TokenCodec

IMAGE = {"image_base64": base64.b64encode(jpeg(coffee_pixels()[:96, :96])).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def tampered(token: str) -> str:
    """The same signature on a payload granting admin."""
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{sig}"


def test_auth_matrix(http: httpx.Client, make_token: Any) -> None:
    codec = TokenCodec(SECRET)
    expired = codec.create("tester", ["positions"], 60, now=time.time() - 3600)
    cases: list[tuple[str, dict[str, str], int, str | None]] = [
        ("none", {}, 401, "unauthorized"),
        ("not bearer", {"Authorization": "Basic dXNlcjpwdw=="}, 401, "invalid_token"),
        ("expired", bearer(expired), 401, "token_expired"),
        ("tampered", bearer(tampered(make_token("positions"))), 401, "invalid_token"),
        ("other secret", bearer(TokenCodec("y" * 40).create("x", ["admin"], 60)), 401, None),
        (
            "alg none",
            bearer(jwt.encode({"sub": "x", "scope": "admin", "exp": 2**40}, "", algorithm="none")),
            401,
            "invalid_token",
        ),
        ("wrong scope", bearer(make_token("rules:write")), 403, "insufficient_scope"),
        ("right scope", bearer(make_token("positions")), 200, None),
        ("admin", bearer(make_token("admin")), 200, None),
    ]
    for name, headers, status, code in cases:
        r = http.post("/v1/positions", json=IMAGE, headers=headers)
        assert r.status_code == status, (name, r.text)
        if status == 200:
            continue
        assert_error(r, status, code)
        challenge = r.headers.get("www-authenticate", "")
        assert challenge.startswith('Bearer realm="mugpos"'), (name, challenge)
        if status == 403:
            assert 'error="insufficient_scope"' in challenge and 'scope="positions"' in challenge
        elif name != "none":
            assert 'error="invalid_' in challenge, (name, challenge)


def test_every_api_route_needs_a_token(http: httpx.Client) -> None:
    for method, path in [
        ("POST", "/v1/positions"), ("POST", "/v1/positions/batch"), ("GET", "/v1/rules"),
        ("POST", "/v1/rules"), ("GET", "/v1/rules/x"), ("PATCH", "/v1/rules/x"),
        ("DELETE", "/v1/rules/x"), ("GET", "/v1/rules/x/versions"),
        ("POST", "/v1/rules/x/restore"), ("POST", "/v1/rules/parse"),
        ("POST", "/v1/rules/evaluate"), ("POST", "/v1/feedback"), ("GET", "/v1/search?text=a"),
        ("POST", "/v1/search"),
    ]:  # fmt: skip
        assert_error(http.request(method, path), 401, "unauthorized")


def test_open_routes(http: httpx.Client) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"):
        assert http.get(path).status_code == 200, path


def test_auth_off_must_be_explicit(app_settings: Any) -> None:
    from fastapi.testclient import TestClient

    from mugpos_serving.app import create_app

    with pytest.raises(AuthConfigError, match="MUGPOS_JWT_SECRET is not set"):
        create_app(app_settings(jwt_secret=None))
    with pytest.raises(AuthConfigError, match="at least 32 bytes"):
        create_app(app_settings(jwt_secret="short"))
    with TestClient(create_app(app_settings(jwt_secret=None, auth_disabled=True))) as c:
        assert c.post("/v1/positions", json=IMAGE).status_code == 200


def test_rate_limit_per_principal_in_redis(app_settings: Any, make_token: Any) -> None:
    from fastapi.testclient import TestClient

    from mugpos_serving.app import create_app

    with TestClient(create_app(app_settings(rate_limit_per_minute=3))) as c:
        one, same = bearer(make_token(subject="alice")), bearer(make_token(subject="alice"))
        other = bearer(make_token(subject="bob"))
        codes = [c.get("/v1/rules", headers=one).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        r = c.get("/v1/rules", headers=one)
        err = assert_error(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) in range(1, 61) and err["details"]["limit"] == 3
        assert r.headers["x-ratelimit-remaining"] == "0"
        # A second token of the same principal shares the budget; another principal does not.
        assert_error(c.get("/v1/rules", headers=same), 429, "rate_limited")
        assert c.get("/v1/rules", headers=other).status_code == 200
        assert c.get("/readyz").json()["checks"]["rate_limit"]["state"] == "redis"


def test_rate_limit_falls_back_to_the_process(
    app_settings: Any, make_token: Any, own_redis: Any
) -> None:
    from fastapi.testclient import TestClient

    from mugpos_serving.app import create_app

    settings = app_settings(rate_limit_per_minute=2, redis_url=own_redis.url)
    with TestClient(create_app(settings)) as c:
        own_redis.stop()
        token = bearer(make_token())
        assert [c.get("/v1/rules", headers=token).status_code for _ in range(2)] == [200, 200]
        r = c.get("/v1/rules", headers=token)
        assert_error(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1
        ready = c.get("/readyz").json()
        assert ready["checks"]["rate_limit"]["state"] == "local"
        assert "rate_limit:local_fallback" in ready["degraded"]


def test_remembered_tokens_still_expire() -> None:
    from mugpos_serving.errors import TokenExpired

    codec = TokenCodec(SECRET, leeway_s=0)
    token = codec.create("tester", ["positions"], 1)
    assert codec.decode(token).subject == "tester"  # verified and remembered
    time.sleep(max(0.0, codec.decode(token).expires_at - time.time()) + 0.05)  # type: ignore[operator]
    with pytest.raises(TokenExpired):
        codec.decode(token)
