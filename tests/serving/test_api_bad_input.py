"""Bad input is answered 4xx with the one error shape, never a 500 or a traceback."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image
from serving_helpers import assert_error, coffee_pixels, jpeg, png

MAX_IMAGE_BYTES = 60_000
MAX_REQUEST_BYTES = 400_000


@pytest.fixture(scope="module")
def small(app_settings: Any) -> Iterator[Any]:
    """An app with small limits, so oversize inputs are cheap to make."""
    from fastapi.testclient import TestClient

    from mugpos_serving.app import create_app

    settings = app_settings(
        max_image_bytes=MAX_IMAGE_BYTES,
        max_image_pixels=1_000_000,
        max_request_bytes=MAX_REQUEST_BYTES,
        max_batch_images=3,
    )
    with TestClient(create_app(settings)) as c:
        yield c


def post_file(c: Any, auth: dict, data: bytes, ctype: str = "image/png", **kw: Any) -> Any:
    return c.post("/v1/positions", files={"image": ("x", data, ctype)}, headers=auth, **kw)


def post_b64(c: Any, auth: dict, data: bytes, **options: Any) -> Any:
    body = {"image_base64": base64.b64encode(data).decode(), "options": options}
    return c.post("/v1/positions", json=body, headers=auth)


def test_corrupt_empty_and_foreign_images(small: Any, auth: dict) -> None:
    whole = jpeg(coffee_pixels()[:100, :100])
    assert_error(post_file(small, auth, whole[: len(whole) // 2]), 422, "invalid_image")
    assert_error(post_file(small, auth, b"\x00" * 1000), 422, "invalid_image")
    assert_error(post_file(small, auth, b""), 422, "invalid_image")
    bmp = io.BytesIO()
    Image.new("RGB", (20, 20)).save(bmp, format="BMP")
    assert_error(post_b64(small, auth, bmp.getvalue()), 422, "invalid_image")  # not allowed


def test_huge_images_are_refused_before_decoding(small: Any, auth: dict) -> None:
    noise = np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    too_many_bytes = png(noise)
    assert MAX_IMAGE_BYTES < len(too_many_bytes) < MAX_REQUEST_BYTES
    err = assert_error(post_file(small, auth, too_many_bytes), 413, "invalid_image")
    assert err["details"]["max_bytes"] == MAX_IMAGE_BYTES
    # A decompression bomb: tiny file, 3000x3000 declared pixels.
    bomb = png(np.zeros((3000, 3000, 3), np.uint8))
    assert len(bomb) < MAX_IMAGE_BYTES
    err = assert_error(post_file(small, auth, bomb), 413, "invalid_image")
    assert err["details"]["max_pixels"] == 1_000_000 and "before decoding" in err["message"]
    # Base64 over the limit is refused before it is decoded.
    err = assert_error(post_b64(small, auth, too_many_bytes), 413, "payload_too_large")
    # A body over the request limit is refused from its Content-Length.
    err = assert_error(post_file(small, auth, b"\xff" * (MAX_REQUEST_BYTES + 1)), 413)
    assert err["code"] == "payload_too_large"


def test_wrong_content_type(small: Any, auth: dict) -> None:
    text = {**auth, "Content-Type": "text/plain"}
    r = small.post("/v1/positions", content=b"hello", headers=text)
    assert_error(r, 415, "unsupported_media_type")
    assert_error(small.post("/v1/positions", content=b"x", headers=auth), 415)


def test_bad_json_and_base64(small: Any, auth: dict) -> None:
    h = {**auth, "Content-Type": "application/json"}
    r = small.post("/v1/positions", content=b"{not json", headers=h)
    assert_error(r, 422, "validation_error")
    assert_error(small.post("/v1/positions", json={}, headers=auth), 422, "validation_error")
    both = {"image_base64": "aGk=", "image_url": "https://example.com/x.jpg"}
    assert_error(small.post("/v1/positions", json=both, headers=auth), 422, "validation_error")
    bad = {"image_base64": "this is *not* base64!"}
    assert_error(small.post("/v1/positions", json=bad, headers=auth), 422, "invalid_base64")
    unknown = {"image_base64": "aGk=", "options": {"colour": "blue"}}
    err = assert_error(small.post("/v1/positions", json=unknown, headers=auth), 422)
    assert err["details"]["errors"][0]["loc"][-1] == "colour"
    assert "input" not in err["details"]["errors"][0]  # never echo the payload back


def test_multipart_without_image_or_with_bad_options(small: Any, auth: dict) -> None:
    r = small.post("/v1/positions", files={"other": ("x", b"1", "text/plain")}, headers=auth)
    assert_error(r, 422, "invalid_request")
    r = small.post(
        "/v1/positions",
        files={"image": ("x.jpg", jpeg(coffee_pixels()[:64, :64]), "image/jpeg")},
        data={"options": "{oops"},
        headers=auth,
    )
    assert_error(r, 422, "validation_error")


def test_rule_problems(small: Any, auth: dict) -> None:
    image = jpeg(coffee_pixels()[:120, :120])
    err = assert_error(post_b64(small, auth, image, rule_ids=["no-such-rule"]), 404)
    assert err["code"] == "rule_not_found" and err["details"]["rule_id"] == "no-such-rule"
    malformed = {"id": "r1", "name": "bad", "kind": "edge_clearance"}  # no value, no unit
    assert_error(post_b64(small, auth, image, rules=[malformed]), 422, "validation_error")
    rule = {"id": "r1", "name": "ok", "kind": "in_zone", "zone": "center"}
    assert_error(post_b64(small, auth, image, rules=[rule, rule]), 422, "validation_error")
    assert_error(small.post("/v1/rules", json=malformed, headers=auth), 422, "validation_error")
    assert_error(post_b64(small, auth, image, similar=500), 422, "validation_error")


def test_oversize_and_empty_batches(small: Any, auth: dict) -> None:
    item = {"image_base64": base64.b64encode(b"x").decode()}
    err = assert_error(
        small.post("/v1/positions/batch", json={"items": [item] * 4}, headers=auth), 413
    )
    assert err["code"] == "batch_too_large" and err["details"]["max_images"] == 3
    files = [("images", (f"{i}.png", b"x", "image/png")) for i in range(4)]
    assert_error(small.post("/v1/positions/batch", files=files, headers=auth), 413)
    assert_error(small.post("/v1/positions/batch", json={"items": []}, headers=auth), 422)


def test_url_fetch_is_off_by_default(small: Any, auth: dict) -> None:
    body = {"image_url": "http://169.254.169.254/latest/meta-data/"}
    assert_error(small.post("/v1/positions", json=body, headers=auth), 403, "url_fetch_disabled")


def test_error_shape_on_other_failures(small: Any, auth: dict) -> None:
    assert_error(small.get("/v1/rules/Not_A_Valid_Id!", headers=auth), 422, "validation_error")
    assert_error(small.put("/v1/rules", headers=auth), 405, "method_not_allowed")
    r = small.post("/v1/feedback", content=json.dumps([1]), headers=auth)
    assert_error(r, 422, "validation_error")


def test_unexpected_errors_are_500_without_details(app_settings: Any, auth: dict) -> None:
    """A bug answers 500 with the error shape; its message and traceback stay in the log."""
    from fastapi.testclient import TestClient

    from mugpos_serving.app import create_app

    app = create_app(app_settings())

    def boom() -> None:
        raise RuntimeError("internal detail: /etc/secret")

    app.add_api_route("/v1/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/v1/boom", headers={**auth, "X-Request-ID": "bug-1"})
        assert_error(r, 500, "internal_error")
        assert "secret" not in r.text and r.headers["x-client-request-id"] == "bug-1"
        metrics = c.get("/metrics").text
        assert 'route="/v1/boom",status="500"' in metrics


def test_one_image_per_position_request(small: Any, auth: dict) -> None:
    photo = jpeg(coffee_pixels()[:64, :64])
    files = [("image", ("a.jpg", photo, "image/jpeg")), ("image", ("b.jpg", photo, "image/jpeg"))]
    err = assert_error(small.post("/v1/positions", files=files, headers=auth), 422)
    assert err["code"] == "invalid_request" and "batch" in err["message"]
