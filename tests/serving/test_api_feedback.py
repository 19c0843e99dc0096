"""Feedback joins the analysis it is about (stored under `analyses`, source "api")."""

from __future__ import annotations

import base64
from typing import Any

from serving_helpers import assert_error, unique_coffee

from mugpos.docstore import open_document_store


def test_feedback_is_stored_with_the_analysis(client: Any, auth: dict, make_token: Any) -> None:
    image = unique_coffee()
    served = client.post(
        "/v1/positions", json={"image_base64": base64.b64encode(image).decode()}, headers=auth
    ).json()
    feedback = {
        "request_id": served["request_id"],
        "correct": False,
        "corrected_detections": [
            {"label": "mug", "box": {"x1": 200, "y1": 40, "x2": 380, "y2": 300}}
        ],
        "corrected_positions": [{"mug": 0, "x": 290, "y": 170}],
        "comment": "the saucer is not part of the mug",
    }
    r = client.post("/v1/feedback", json=feedback, headers=auth)
    assert r.status_code == 201, r.text
    assert r.json()["image_sha256"] == served["image"]["sha256"]

    location = client.app.state.settings.document_store_location
    with open_document_store(location) as store:
        analysis = store.collection("analyses").get(served["request_id"])
        (stored,) = store.collection("feedback").find({"request_id": served["request_id"]})
    assert analysis["source"] == "api" and analysis["cache"] == served["cache"]
    assert served["image"]["sha256"] in analysis["cache_key"].split(":")
    assert analysis["result"]["mugs"] == served["mugs"]
    assert stored["correct"] is False and stored["comment"] == feedback["comment"]
    assert stored["image_sha256"] == analysis["image_sha256"] == served["image"]["sha256"]
    assert stored["model_version"] == served["models"]["detector"]["version"]

    # A cache hit is an analysis of its own request too.
    hit = client.post(
        "/v1/positions", json={"image_base64": base64.b64encode(image).decode()}, headers=auth
    ).json()
    assert hit["cache"] == "hit"
    ok = {"request_id": hit["request_id"], "correct": True}
    assert client.post("/v1/feedback", json=ok, headers=auth).status_code == 201
    with open_document_store(location) as store:
        light = store.collection("analyses").get(hit["request_id"])
    # A hit points at the computed analysis by cache key instead of storing it again.
    assert light["cache"] == "hit" and "result" not in light
    assert light["cache_key"] == analysis["cache_key"]

    # Unknown ids, and other callers' requests, are not found.
    unknown = {"request_id": "never-served", "correct": True}
    assert_error(client.post("/v1/feedback", json=unknown, headers=auth), 404)
    other = {"Authorization": f"Bearer {make_token('positions', subject='someone-else')}"}
    r = client.post("/v1/feedback", json=ok, headers=other)
    assert_error(r, 404, "analysis_not_found")
