"""Rules: CRUD, versions, restore, parse, evaluate, and stored rules in position requests."""

from __future__ import annotations

import base64
from typing import Any

from serving_helpers import assert_error, unique_coffee

RULE: dict[str, Any] = {
    "id": "rule-top-10pct",
    "name": "away from the top",
    "kind": "edge_clearance",
    "value": 10,
    "unit": "%",
    "edges": ["top"],
}


def test_rule_lifecycle(client: Any, auth: dict) -> None:
    created = client.post("/v1/rules", json=RULE, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1
    assert_error(client.post("/v1/rules", json=RULE, headers=auth), 409, "rule_conflict")

    assert client.get(f"/v1/rules/{RULE['id']}", headers=auth).json()["value"] == 10
    assert RULE["id"] in [r["id"] for r in client.get("/v1/rules", headers=auth).json()]

    changed = client.patch(f"/v1/rules/{RULE['id']}", json={"value": 12}, headers=auth)
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = client.patch(
        f"/v1/rules/{RULE['id']}", json={"value": 13, "expected_version": 1}, headers=auth
    )
    assert_error(stale, 409, "rule_conflict")
    # A change that makes the rule invalid as a whole is refused and stores nothing.
    bad = client.patch(f"/v1/rules/{RULE['id']}", json={"zone": "center"}, headers=auth)
    assert_error(bad, 422, "validation_error")

    versions = client.get(f"/v1/rules/{RULE['id']}/versions", headers=auth).json()
    assert [(v["version"], v["action"], v["rule"]["value"]) for v in versions] == [
        (1, "create", 10),
        (2, "update", 12),
    ]
    assert client.get(f"/v1/rules/{RULE['id']}/versions/1", headers=auth).json()["value"] == 10

    restored = client.post(f"/v1/rules/{RULE['id']}/restore", json={"version": 1}, headers=auth)
    assert restored.status_code == 200
    assert (restored.json()["version"], restored.json()["value"]) == (3, 10)

    assert client.delete(f"/v1/rules/{RULE['id']}", headers=auth).status_code == 204
    assert_error(client.get(f"/v1/rules/{RULE['id']}", headers=auth), 404, "rule_not_found")
    assert_error(client.delete(f"/v1/rules/{RULE['id']}", headers=auth), 404, "rule_not_found")


def test_stored_rules_apply_to_positions(client: Any, auth: dict) -> None:
    rule = {**RULE, "id": "rule-stored-top"}
    assert client.post("/v1/rules", json=rule, headers=auth).status_code == 201
    image = base64.b64encode(unique_coffee()).decode()
    try:
        by_id = client.post(
            "/v1/positions",
            json={"image_base64": image, "options": {"rule_ids": ["rule-stored-top"]}},
            headers=auth,
        ).json()
        assert [r["rule_id"] for r in by_id["mugs"][0]["rule_results"]] == ["rule-stored-top"]
        # No rule option: every enabled stored rule (a write invalidates the memory at once).
        default = client.post("/v1/positions", json={"image_base64": image}, headers=auth).json()
        assert "rule-stored-top" in [r["rule_id"] for r in default["mugs"][0]["rule_results"]]
        client.patch("/v1/rules/rule-stored-top", json={"enabled": False}, headers=auth)
        after = client.post("/v1/positions", json={"image_base64": image}, headers=auth).json()
        assert "rule-stored-top" not in [r["rule_id"] for r in after["mugs"][0]["rule_results"]]
        assert after["scene"]["rules_hash"] != default["scene"]["rules_hash"]
    finally:
        client.delete("/v1/rules/rule-stored-top", headers=auth)


def test_parse_plain_language(client: Any, auth: dict) -> None:
    r = client.post(
        "/v1/rules/parse", json={"text": "Keep mugs at least 10 cm from the laptop"}, headers=auth
    )
    assert r.status_code == 200
    body = r.json()
    assert body["rule"]["kind"] == "object_clearance"
    assert (body["rule"]["value"], body["rule"]["unit"], body["rule"]["object_label"]) == (
        10.0,
        "cm",
        "laptop",
    )
    assert "laptop" in body["interpretation"]
    # Nothing stored by parsing.
    assert_error(client.get(f"/v1/rules/{body['rule']['id']}", headers=auth), 404)

    err = assert_error(
        client.post("/v1/rules/parse", json={"text": "purple elephants"}, headers=auth),
        422,
        "rule_parse_error",
    )
    assert err["details"]["suggestions"]


def test_evaluate_given_detections(client: Any, auth: dict) -> None:
    body = {
        "image_width": 640,
        "image_height": 480,
        "detections": [
            {"label": "mug", "raw_label": "Mug", "score": 0.9,
             "box": {"x1": 300, "y1": 200, "x2": 340, "y2": 250}},
            {"label": "laptop", "raw_label": "Laptop", "score": 0.9,
             "box": {"x1": 350, "y1": 150, "x2": 600, "y2": 400}},
        ],
        "rules": [
            {"id": "laptop-gap", "name": "laptop gap", "kind": "object_clearance",
             "value": 50, "unit": "px", "object_label": "laptop"},
        ],
    }  # fmt: skip
    r = client.post("/v1/rules/evaluate", json=body, headers=auth)
    assert r.status_code == 200, r.text
    (result,) = r.json()["rule_results"]
    assert result["status"] == "violated" and result["measured"] == 10.0
    assert r.json()["suggestions"][0]["move"]["dx_px"] < 0  # away from the laptop, leftwards


def test_rule_reads_need_a_token_writes_need_the_scope(client: Any, make_token: Any) -> None:
    reader = {"Authorization": f"Bearer {make_token('positions')}"}
    assert client.get("/v1/rules", headers=reader).status_code == 200
    assert_error(client.post("/v1/rules", json=RULE, headers=reader), 403, "insufficient_scope")
    admin = {"Authorization": f"Bearer {make_token('admin')}"}
    rule = {**RULE, "id": "rule-by-admin"}
    assert client.post("/v1/rules", json=rule, headers=admin).status_code == 201
    assert client.delete("/v1/rules/rule-by-admin", headers=admin).status_code == 204
