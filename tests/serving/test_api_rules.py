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
        # The stored rule, then the implicit work-area check every mug gets.
        assert [r["rule_id"] for r in by_id["mugs"][0]["rule_results"]] == [
            "rule-stored-top",
            "builtin.work-area",
        ]
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
    assert body["text"] == "Keep mugs at least 10 cm from the laptop"
    (draft,) = body["rules"]
    assert draft["rule"]["kind"] == "object_clearance"
    assert (draft["rule"]["value"], draft["rule"]["unit"], draft["rule"]["object_label"]) == (
        10.0,
        "cm",
        "laptop",
    )
    assert "laptop" in draft["interpretation"]
    # Nothing stored by parsing.
    assert_error(client.get(f"/v1/rules/{draft['rule']['id']}", headers=auth), 404)
    # A compound sentence is several rules, each with its interpretation, in order; the
    # negation of the second clause does not reach the first.
    text = "Keep mugs at least 5 cm from the edge and never on the keyboard"
    both = client.post("/v1/rules/parse", json={"text": text}, headers=auth).json()["rules"]
    assert [d["rule"]["kind"] for d in both] == ["edge_clearance", "not_on_object"]
    assert both[0]["rule"]["comparator"] == "at_least" and both[0]["rule"]["value"] == 5.0
    assert [d["rule"]["severity"] for d in both] == ["warning", "critical"]
    assert all(d["interpretation"] for d in both)
    assert len({d["rule"]["id"] for d in both}) == 2
    # Permissions and directions are clear refusals.
    for refused, reason in (
        ("Mugs can be within 5 cm of books", "permission"),
        ("Keep mugs 10 cm to the left of the laptop", "unsupported"),
    ):
        err = assert_error(
            client.post("/v1/rules/parse", json={"text": refused}, headers=auth),
            422,
            "rule_parse_error",
        )
        assert err["details"]["reason"] == reason

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
    result, work_area = r.json()["rule_results"]
    assert result["status"] == "violated" and result["measured"] == 10.0
    assert work_area["rule_id"] == "builtin.work-area" and work_area["status"] == "satisfied"
    assert r.json()["suggestions"][0]["move"]["dx_px"] < 0  # away from the laptop, leftwards
    assert r.json()["partial"] is False and r.json()["scene_score"] < 100


def test_evaluate_says_what_was_not_seen(client: Any, auth: dict) -> None:
    mug = {"label": "mug", "raw_label": "Mug", "score": 0.9,
           "box": {"x1": 300, "y1": 200, "x2": 340, "y2": 250}}  # fmt: skip
    laptop_rule = {"id": "laptop-gap", "name": "laptop gap", "kind": "object_clearance",
                   "value": 50, "unit": "px", "object_label": "laptop"}  # fmt: skip
    base = {"image_width": 640, "image_height": 480, "rules": [laptop_rule]}
    # No laptop in the scene: "no laptop found", neither satisfied nor violated.
    r = client.post("/v1/rules/evaluate", json={**base, "detections": [mug]}, headers=auth)
    assert r.status_code == 200, r.text
    first = r.json()["rule_results"][0]
    assert first["status"] == "not_found" and first["message"] == "no laptop found"
    assert any(n.startswith("no laptop found") for n in r.json()["notes"])
    # No mug at all: not scored, never a 100.
    r = client.post("/v1/rules/evaluate", json={**base, "detections": []}, headers=auth)
    body = r.json()
    assert body["scene_score"] is None and body["score_reason"] == "no mug found: not scored"


def test_unknown_object_labels_are_refused_with_the_known_ones(client: Any, auth: dict) -> None:
    bad = {"id": "cat-gap", "name": "cat gap", "kind": "object_clearance", "value": 5,
           "unit": "cm", "object_label": "cat"}  # fmt: skip
    for r in (
        client.post("/v1/rules", json=bad, headers=auth),
        client.post(
            "/v1/rules/evaluate",
            json={"image_width": 640, "image_height": 480, "detections": [], "rules": [bad]},
            headers=auth,
        ),
    ):
        assert_error(r, 422, "validation_error")
        text = r.text
        assert "unknown object label 'cat'" in text
        for label in ("laptop", "keyboard", "mouse", "monitor", "book", "bottle"):
            assert label in text


def test_rule_reads_need_a_token_writes_need_the_scope(client: Any, make_token: Any) -> None:
    reader = {"Authorization": f"Bearer {make_token('positions')}"}
    assert client.get("/v1/rules", headers=reader).status_code == 200
    assert_error(client.post("/v1/rules", json=RULE, headers=reader), 403, "insufficient_scope")
    admin = {"Authorization": f"Bearer {make_token('admin')}"}
    rule = {**RULE, "id": "rule-by-admin"}
    assert client.post("/v1/rules", json=rule, headers=admin).status_code == 201
    assert client.delete("/v1/rules/rule-by-admin", headers=admin).status_code == 204
