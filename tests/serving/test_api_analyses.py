"""GET /v1/analyses (History) and /v1/analyses/{id}; GET /v1/corpus/{sha256}/thumbnail.

In-process app (TestClient) with its real SQLite document store and recorder thread; each test
signs as a fresh subject, so analyses other tests made on the shared app never show up.
"""

from __future__ import annotations

import io
import uuid

import numpy as np
import pytest
from PIL import Image
from serving_helpers import assert_error, coffee_pixels, png, unique_coffee
from skimage import data

from mugpos.corpus import CorpusLayout
from mugpos.images import sha256_bytes


@pytest.fixture()
def who(make_token):  # type: ignore[no-untyped-def]
    """Headers of a new subject with the positions scope (and a maker for others)."""

    def headers(*scopes: str, subject: str | None = None) -> dict[str, str]:
        token = make_token(*(scopes or ("positions",)), subject=subject or uuid.uuid4().hex[:12])
        return {"Authorization": f"Bearer {token}"}

    return headers


def _post(client, headers, data: bytes) -> dict:  # type: ignore[no-untyped-def]
    resp = client.post("/v1/positions", files={"image": ("p.png", data)}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_history_lists_the_callers_analyses_newest_first_with_cache_hits_resolved(
    client, who
) -> None:  # type: ignore[no-untyped-def]
    me = who()
    photo = unique_coffee()
    first = _post(client, me, photo)
    again = _post(client, me, photo)
    cat = _post(client, me, png(np.ascontiguousarray(data.chelsea())))
    assert (first["cache"], again["cache"]) == ("miss", "hit")

    listed = client.get("/v1/analyses", headers=me).json()["analyses"]
    expected = [cat["request_id"], again["request_id"], first["request_id"]]  # newest first
    assert sorted(a["request_id"] for a in listed) == sorted(expected)
    stamps = {a["request_id"]: a["created_at"] for a in listed}
    assert [a["created_at"] for a in listed] == sorted(stamps.values(), reverse=True)
    position = [a["request_id"] for a in listed]
    for newer, older in [(expected[0], expected[1]), (expected[1], expected[2])]:
        if stamps[newer] != stamps[older]:  # records written in one millisecond may tie
            assert position.index(newer) < position.index(older)
    by_id = {a["request_id"]: a for a in listed}
    hit = by_id[again["request_id"]]
    assert hit["cache"] == "hit" and hit["result_stored"] is True
    assert hit["image"]["sha256"] == first["image"]["sha256"] == sha256_bytes(photo)
    assert [m["box"] for m in hit["mugs"]] == [m["box"] for m in first["mugs"]]
    assert hit["detections"] == len(first["detections"])
    assert hit["scene_score"] == first["scene"]["score"]
    assert hit["detector"] == "{id} {version}".format(**first["models"]["detector"])
    no_mug = by_id[cat["request_id"]]
    assert no_mug["mugs"] == [] and no_mug["scene_score"] is None
    assert no_mug["score_reason"] == "no mug found: not scored"

    assert len(client.get("/v1/analyses?limit=2", headers=me).json()["analyses"]) == 2


def test_an_analysis_reads_back_as_served_with_its_feedback(client, who) -> None:  # type: ignore[no-untyped-def]
    me = who()
    served = _post(client, me, unique_coffee())
    rid = served["request_id"]
    record = client.get(f"/v1/analyses/{rid}", headers=me).json()
    assert record["feedback"] is None
    expected = {
        k: v for k, v in served.items() if k not in {"request_id", "client_request_id", "cache"}
    }
    assert record["result"] == expected and record["cache"] == "miss"

    body = {
        "request_id": rid,
        "correct": False,
        "mug_verdicts": [{"mug": 0, "verdict": "wrong_box"}],
        "corrected_detections": [
            {"label": "mug", "box": {"x1": 180, "y1": 30, "x2": 410, "y2": 300}}
        ],
    }
    assert client.post("/v1/feedback", json=body, headers=me).status_code == 201
    feedback = client.get(f"/v1/analyses/{rid}", headers=me).json()["feedback"]
    assert feedback["mug_verdicts"] == body["mug_verdicts"]
    assert feedback["corrected_detections"] == body["corrected_detections"]
    assert feedback["correct"] is False
    summary = client.get("/v1/analyses", headers=me).json()["analyses"][0]
    assert summary["feedback"]["correct"] is False


def test_other_callers_see_neither_the_list_nor_the_analysis_but_an_admin_reads_it(
    client, who
) -> None:  # type: ignore[no-untyped-def]
    owner = who()
    rid = _post(client, owner, unique_coffee())["request_id"]
    stranger = who()
    assert client.get("/v1/analyses", headers=stranger).json()["analyses"] == []
    err = assert_error(client.get(f"/v1/analyses/{rid}", headers=stranger), 404)
    assert err["code"] == "analysis_not_found"
    admin = who("admin")
    assert client.get(f"/v1/analyses/{rid}", headers=admin).json()["request_id"] == rid


def test_history_needs_a_token_and_valid_parameters(client, who) -> None:  # type: ignore[no-untyped-def]
    assert_error(client.get("/v1/analyses"), 401, "unauthorized")
    assert_error(client.get("/v1/analyses/abc"), 401, "unauthorized")
    me = who()
    for limit in (0, 51, "many"):
        assert_error(client.get(f"/v1/analyses?limit={limit}", headers=me), 422, "validation_error")
    assert_error(client.get("/v1/analyses/not%20an%20id", headers=me), 422, "validation_error")
    assert_error(client.get("/v1/analyses/unknown-id", headers=me), 404, "analysis_not_found")
    bad = {"request_id": "x", "correct": True, "mug_verdicts": [{"mug": 0, "verdict": "meh"}]}
    assert_error(client.post("/v1/feedback", json=bad, headers=me), 422, "validation_error")


def test_corpus_thumbnail_is_a_small_jpeg_of_the_stored_image(client, who, serving_home) -> None:  # type: ignore[no-untyped-def]
    pixels = coffee_pixels().copy()
    pixels[:2, :2] = np.frombuffer(uuid.uuid4().bytes[:12], np.uint8).reshape(2, 2, 3)
    stored = png(pixels)
    sha = sha256_bytes(stored)
    path = CorpusLayout(serving_home / "corpus").image_path(sha, "PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(stored)
    me = who()
    resp = client.get(f"/v1/corpus/{sha}/thumbnail?size=120", headers=me)
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/jpeg"
    thumb = Image.open(io.BytesIO(resp.content))
    assert thumb.format == "JPEG" and max(thumb.size) == 120
    assert thumb.size == (120, 80)  # 600x400 keeps its shape
    # The picture is the stored one (mean colour close), not a placeholder.
    original = np.asarray(Image.fromarray(pixels).resize(thumb.size), dtype=float)
    assert np.abs(np.asarray(thumb, dtype=float) - original).mean() < 12

    assert_error(client.get(f"/v1/corpus/{sha}/thumbnail"), 401, "unauthorized")
    missing = "0" * 64
    err = assert_error(client.get(f"/v1/corpus/{missing}/thumbnail", headers=me), 404)
    assert err["code"] == "image_not_found"
    for bad in ("../../etc/passwd", "ABC", sha.upper()):
        resp = client.get(f"/v1/corpus/{bad}/thumbnail", headers=me)
        assert resp.status_code in {404, 422}, (bad, resp.status_code)
        assert resp.json()["error"]["code"] in {"validation_error", "not_found"}
    assert_error(client.get(f"/v1/corpus/{sha}/thumbnail?size=4096", headers=me), 422)


def test_a_corrupt_corpus_file_answers_the_image_error_not_a_500(client, who, serving_home) -> None:  # type: ignore[no-untyped-def]
    junk = b"\x89PNG\r\n\x1a\n" + uuid.uuid4().bytes
    sha = sha256_bytes(junk)
    path = CorpusLayout(serving_home / "corpus").image_path(sha, "PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(junk)
    err = assert_error(client.get(f"/v1/corpus/{sha}/thumbnail", headers=who()), 422)
    assert err["code"] == "invalid_image"


def test_history_without_recorded_analyses_says_so(app_settings, make_token) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from mugpos_serving.app import create_app

    headers = {"Authorization": f"Bearer {make_token('positions')}"}
    with TestClient(create_app(app_settings(record_analyses=False))) as off:
        err = assert_error(off.get("/v1/analyses", headers=headers), 503, "service_unavailable")
        assert "MUGPOS_RECORD_ANALYSES" in err["message"]
        assert_error(off.get("/v1/analyses/some-id", headers=headers), 503, "service_unavailable")
