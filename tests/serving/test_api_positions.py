"""POST /v1/positions and /batch against a real uvicorn process and the real offline model."""

from __future__ import annotations

import base64
import json

import httpx
from serving_helpers import EDGE_RULE, assert_error, coffee_pixels, jpeg, png, unique_coffee


def test_offline_model_positions_the_coffee_mug(http: httpx.Client, auth: dict) -> None:
    """Acceptance: the mug in skimage.data.coffee() is found and placed through the API."""
    data = jpeg(coffee_pixels())
    r = http.post(
        "/v1/positions",
        files={"image": ("coffee.jpg", data, "image/jpeg")},
        data={"options": json.dumps({"rules": [], "target": {"kind": "image_center"}})},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["image"]["width"] == 600 and body["image"]["height"] == 400
    assert body["image"]["format"] == "JPEG"
    assert body["models"]["detector"]["id"] == "ssd-mobilenetv2-oidv4"
    assert body["models"]["detector"]["version"]
    assert [d["label"] for d in body["detections"]].count("mug") == 1
    (mug,) = body["mugs"]
    # The cup stands left of center in the upper half of the photo.
    center = mug["position"]["center"]
    assert 200 < center["x"] < 380 and 100 < center["y"] < 230, center
    assert mug["zone"] == "center"
    assert mug["offset"]["dx_px"] == center["x"] - 300
    assert set(mug["clearances"]["edges"]) >= {"left", "right", "top", "bottom", "nearest"}
    assert mug["suggestion"]["needed"] is False  # no rules: nothing to fix
    assert 0 <= mug["score"] <= 100 and 0 <= body["scene"]["score"] <= 100
    assert {"decode", "detect", "position", "rules", "suggest", "score", "total"} <= set(
        body["timings_ms"]
    )
    assert r.headers["x-request-id"] == body["request_id"]


def test_json_base64_and_cache_hit(http: httpx.Client, auth: dict) -> None:
    data = unique_coffee()
    payload = {"image_base64": base64.b64encode(data).decode(), "options": {"rules": []}}
    first = http.post("/v1/positions", json=payload, headers=auth)
    second = http.post("/v1/positions", json=payload, headers=auth)
    assert first.status_code == second.status_code == 200, (first.text[:300], second.text[:300])
    a, b = first.json(), second.json()
    assert (a["cache"], b["cache"]) == ("miss", "hit")
    assert a["request_id"] != b["request_id"]
    assert {k: v for k, v in a.items() if k not in ("cache", "request_id")} == {
        k: v for k, v in b.items() if k not in ("cache", "request_id")
    }
    # Other options are another cache entry.
    payload["options"] = {"rules": [], "target": {"kind": "thirds"}}
    third = http.post("/v1/positions", json=payload, headers=auth).json()
    assert third["cache"] == "miss" and third["scene"]["target"]["kind"] == "thirds"


def test_rules_scale_and_suggestion(http: httpx.Client, auth: dict) -> None:
    """An inline rule the mug breaks yields a violation, a move that fixes it, and mm units
    from an explicit scale."""
    options = {"rules": [EDGE_RULE], "scale": {"mm_per_px": 0.5}}
    payload = {"image_base64": base64.b64encode(unique_coffee()).decode(), "options": options}
    body = http.post("/v1/positions", json=payload, headers=auth).json()
    (mug,) = body["mugs"]
    result, work_area = mug["rule_results"]  # the rule, then the implicit work-area check
    assert result["rule_id"] == "edge-10pct" and result["status"] == "violated"
    assert work_area["rule_id"] == "builtin.work-area" and work_area["status"] == "satisfied"
    assert mug["suggestion"]["needed"] is True and mug["suggestion"]["fixes"] == ["edge-10pct"]
    assert mug["suggestion"]["move"]["dy_px"] > 0  # away from the top edge
    assert mug["position"]["center_mm"] is not None
    assert body["scene"]["scale"] == {"mm_per_px": 0.5, "source": "explicit"}
    assert body["scene"]["partial"] is False and body["scene"]["score"] < 100


def test_a_photo_without_a_mug_is_not_scored(http: httpx.Client, auth: dict) -> None:
    from skimage import data

    payload = {"image_base64": base64.b64encode(png(data.chelsea())).decode()}
    body = http.post("/v1/positions", json=payload, headers=auth).json()
    assert body["mugs"] == []
    assert body["scene"]["score"] is None
    assert body["scene"]["score_reason"] == "no mug found: not scored"
    assert "no mug found: not scored" in body["notes"]


def test_similar_scenes_come_from_the_index(http: httpx.Client, auth: dict) -> None:
    payload = {"image_base64": base64.b64encode(png(coffee_pixels())).decode()}
    payload["options"] = {"rules": [], "similar": 2}
    body = http.post("/v1/positions", json=payload, headers=auth).json()
    top, second = body["similar"]
    assert top["payload"] == {"name": "coffee"} and top["score"] > 0.99
    assert second["score"] < top["score"]


def test_batch_answers_each_image(http: httpx.Client, auth: dict) -> None:
    good = base64.b64encode(unique_coffee()).decode()
    bad = base64.b64encode(b"not an image at all").decode()
    body = {"items": [{"image_base64": good}, {"image_base64": bad}], "options": {"rules": []}}
    r = http.post("/v1/positions/batch", json=body, headers=auth)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["succeeded"], out["failed"]) == (1, 1)
    ok, failed = out["results"]
    assert ok["ok"] and ok["result"]["mugs"] and ok["request_id"] == f"{out['request_id']}-0"
    assert not failed["ok"] and failed["error"]["code"] == "invalid_image"
    assert failed["error"]["details"]["status"] == 422


def test_batch_multipart(http: httpx.Client, auth: dict) -> None:
    files = [("images", (f"{i}.png", unique_coffee(), "image/png")) for i in range(2)]
    r = http.post("/v1/positions/batch", files=files, headers=auth)
    assert r.status_code == 200, r.text
    assert [item["ok"] for item in r.json()["results"]] == [True, True]


def test_client_request_id_is_kept_for_correlation_only(http: httpx.Client, auth: dict) -> None:
    payload = {"image_base64": base64.b64encode(unique_coffee()).decode()}
    r = http.post("/v1/positions", json=payload, headers={**auth, "X-Request-ID": "client-42"})
    body = r.json()
    assert r.headers["x-client-request-id"] == "client-42" == body["client_request_id"]
    # The request id is the server's own: what the analysis is stored and found under.
    assert body["request_id"] != "client-42" and len(body["request_id"]) == 32
    assert r.headers["x-request-id"] == body["request_id"]
    # A malformed id is dropped, never reflected.
    r = http.post("/v1/positions", json=payload, headers={**auth, "X-Request-ID": 'a b"<'})
    assert "x-client-request-id" not in r.headers and r.json()["client_request_id"] is None
    assert len(r.headers["x-request-id"]) == 32


def test_unknown_route_has_the_error_shape(http: httpx.Client, auth: dict) -> None:
    assert_error(http.get("/v1/nothing-here", headers=auth), 404, "not_found")
    assert_error(http.get("/v1/positions", headers=auth), 405, "method_not_allowed")
    assert_error(http.get("/v1/nothing-here"), 401, "unauthorized")  # the token comes first


def test_render_png_draws_the_analysis(client, auth) -> None:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    from mugpos.images import encode_jpeg
    from mugpos.samples import sample_photo

    photo = encode_jpeg(sample_photo("coffee"), quality=90)
    resp = client.post(
        "/v1/positions?render=png",
        files={"image": ("coffee.jpg", photo, "image/jpeg")},
        headers=auth,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(resp.content)) as img:
        assert img.size == (600, 400)
    bad = client.post(
        "/v1/positions?render=gif",
        files={"image": ("coffee.jpg", photo, "image/jpeg")},
        headers=auth,
    )
    assert bad.status_code == 422 and "error" in bad.json()


def test_inline_rules_without_ids_are_cacheable(http: httpx.Client, auth: dict) -> None:
    rule = {"name": "centered", "kind": "in_zone", "zone": "center"}
    payload = {
        "image_base64": base64.b64encode(unique_coffee()).decode(),
        "options": {"rules": [rule]},
    }
    first, second = (http.post("/v1/positions", json=payload, headers=auth).json() for _ in "ab")
    assert first["mugs"][0]["rule_results"][0]["rule_id"] == "inline-0"
    assert (first["cache"], second["cache"]) == ("miss", "hit")
