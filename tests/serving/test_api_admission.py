"""Admission before the body: the token first, then the caller's budget, then the body within
the route's limit; tokens with bounded lifetimes; public health endpoints without details."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from serving_helpers import SECRET, Uvicorn, assert_error, coffee_pixels, jpeg, unique_coffee

from mugpos_serving.auth import TokenCodec

JSON_ROUTES = [
    ("POST", "/v1/feedback"),
    ("POST", "/v1/rules/parse"),
    ("POST", "/v1/rules/evaluate"),
    ("POST", "/v1/rules"),
    ("PATCH", "/v1/rules/some-rule"),
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_and_bad_json_is_401_not_422(http: httpx.Client) -> None:
    for method, path in JSON_ROUTES:
        r = http.request(
            method, path, content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert_error(r, 401, "unauthorized")


def _raw_request(url: str, head: str, body_start: bytes, timeout_s: float) -> bytes:
    """Send the head and the first bytes of a body, then wait for whatever the server says."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout_s) as s:
        s.sendall(head.encode() + body_start)
        try:
            return s.recv(65536)
        except TimeoutError:
            return b""


def test_a_big_body_without_token_is_refused_before_it_is_read(live: Uvicorn) -> None:
    """60 MB declared, 10 bytes sent: the answer (401) comes at once; the server never waits
    for, let alone parses, the rest."""
    for path in ("/v1/feedback", "/v1/rules/evaluate", "/v1/positions"):
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {60 * 1024 * 1024}\r\nConnection: close\r\n\r\n"
        )
        answer = _raw_request(live.url, head, b'{"request_', timeout_s=5.0)
        assert answer.startswith(b"HTTP/1.1 401"), (path, answer[:200])


def test_route_sized_body_limits(http: httpx.Client, auth: dict) -> None:
    """Rules and feedback are small: 2 MB of JSON there is 413, declared or chunked."""
    big = json.dumps({"request_id": "x", "correct": True, "comment": "y" * (2 * 1024 * 1024)})
    json_auth = {**auth, "Content-Type": "application/json"}
    err = assert_error(http.post("/v1/feedback", content=big.encode(), headers=json_auth), 413)
    assert err["code"] == "payload_too_large" and err["details"]["max_bytes"] == 1024 * 1024

    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(40):
            yield b"a" * 65536
        yield b'"}'

    r = http.post("/v1/rules/parse", content=chunks(),
                  headers={**auth, "Content-Type": "application/json"})  # fmt: skip
    assert "content-length" not in r.request.headers  # it went chunked
    err = assert_error(r, 413, "payload_too_large")
    assert err["details"]["max_bytes"] == 1024 * 1024
    # The connection and the server are fine afterwards.
    assert http.get("/v1/rules", headers=auth).status_code == 200


def test_an_oversized_chunked_body_is_413_on_every_route(app_settings: Any, auth: dict) -> None:
    """A body without Content-Length that passes the limit is answered 413 (not the 400
    a body parser gives), on the routes that read their own bodies and on the others."""
    from fastapi.testclient import TestClient

    from mugpos_serving.app import create_app

    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"a" * 50_000
        yield b'"}'

    with TestClient(create_app(app_settings(max_request_bytes=300_000))) as c:
        for path, ctype in [
            ("/v1/positions", "multipart/form-data; boundary=x"),
            ("/v1/rules/parse", "application/json"),
            ("/v1/feedback", "application/json"),
        ]:
            r = c.post(path, content=chunks(), headers={**auth, "Content-Type": ctype})
            err = assert_error(r, 413, "payload_too_large")
            assert err["details"]["max_bytes"] == 300_000, path


def test_a_batch_counts_each_image_against_the_limit(app_settings: Any, make_token: Any) -> None:
    from fastapi.testclient import TestClient

    from mugpos_serving.app import create_app

    photo = base64.b64encode(jpeg(coffee_pixels()[:64, :64])).decode()
    with TestClient(create_app(app_settings(rate_limit_per_minute=5, max_batch_images=4))) as c:
        headers = bearer(make_token(subject="batcher"))
        batch = {"items": [{"image_base64": photo}] * 4}
        r = c.post("/v1/positions/batch", json=batch, headers=headers)
        assert r.status_code == 200 and r.headers["x-ratelimit-remaining"] == "1"
        assert (
            c.post("/v1/positions", json={"image_base64": photo}, headers=headers).status_code
            == 200
        )
        assert_error(c.post("/v1/positions", json={"image_base64": photo}, headers=headers), 429)


def test_token_lifetime_and_clock_skew() -> None:
    codec = TokenCodec(SECRET, max_ttl_s=86400, leeway_s=30)
    with pytest.raises(ValueError, match="over the maximum"):
        codec.create("x", ["positions"], 2 * 86400)
    long_lived = TokenCodec(SECRET, max_ttl_s=10**9).create("x", ["positions"], 365 * 86400)
    from mugpos_serving.errors import InvalidToken, TokenExpired

    with pytest.raises(InvalidToken, match="lifetime"):
        codec.decode(long_lived)
    now = time.time()
    assert (
        codec.decode(codec.create("x", ["positions"], 60, now=now - 65)).subject == "x"
    )  # 5 s late
    with pytest.raises(TokenExpired):
        codec.decode(codec.create("x", ["positions"], 60, now=now - 120))
    assert (
        codec.decode(codec.create("x", ["positions"], 600, now=now + 10)).subject == "x"
    )  # fast clock
    with pytest.raises(InvalidToken):
        codec.decode(codec.create("x", ["positions"], 600, now=now + 120))


def test_a_token_over_the_servers_maximum_lifetime_is_refused(http: httpx.Client) -> None:
    import jwt

    now = int(time.time())
    claims = {"iss": "mugpos", "sub": "x", "scope": "positions", "iat": now,
              "exp": now + 10 * 365 * 86400, "jti": "forever"}  # fmt: skip
    forever = jwt.encode(claims, SECRET, algorithm="HS256")
    err = assert_error(http.get("/v1/rules", headers=bearer(forever)), 401, "invalid_token")
    assert "lifetime" in err["message"]


def test_the_dev_secret_file_is_private(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from mugpos.cli import app

    path = tmp_path / "home" / "dev-jwt-secret"
    first = CliRunner().invoke(app, ["token", "secret", "--file", str(path)])
    assert first.exit_code == 0, first.output
    assert path.stat().st_mode & 0o777 == 0o600 and len(first.output.strip()) >= 48
    path.chmod(0o644)  # made by an older version, or by hand
    again = CliRunner().invoke(app, ["token", "secret", "--file", str(path)])
    assert again.output == first.output and path.stat().st_mode & 0o777 == 0o600


def test_public_health_shows_states_not_paths_or_errors(
    http: httpx.Client, live: Uvicorn, make_token: Any, serving_home: Any, auth: dict
) -> None:
    http.post("/v1/positions", json={"image_base64": base64.b64encode(unique_coffee()).decode()},
              headers=auth)  # fmt: skip
    public = http.get("/readyz")
    assert public.status_code == 200
    text = public.text
    assert str(serving_home) not in text and "/tmp" not in text and "manifest_path" not in text
    for check in public.json()["checks"].values():
        assert "error" not in check and "message" not in check and "location" not in check
    assert public.json()["checks"]["models"]["state"]  # states stay visible
    admin = http.get("/readyz", headers=bearer(make_token("admin"))).json()
    assert admin["checks"]["models"]["manifest_path"].startswith(str(serving_home))
    metrics = http.get("/metrics").text
    assert str(serving_home) not in metrics and "/tmp/" not in metrics
