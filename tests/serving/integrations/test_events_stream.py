"""GET /v1/events with a real streaming client: token auth, the type filter, who sees what,
platform alerts written by another process, and resuming with Last-Event-ID."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from receivers import SseReader
from serving_helpers import Uvicorn, assert_error, base_env, link_models, png, unique_coffee
from test_webhooks_live import analyse

from mugpos.docstore import open_document_store
from mugpos.events import Event, EventLog
from mugpos.models.store import ModelStore

TOO_FAR = [{"id": "edge", "name": "edge ≥ 20%", "kind": "edge_clearance", "value": 20, "unit": "%"}]
NEAR_OK = [{"id": "edge", "name": "edge ≥ 1%", "kind": "edge_clearance", "value": 1, "unit": "%"}]


def stream(integ: Uvicorn, headers: dict[str, str], **params: object) -> SseReader:
    return SseReader(f"{integ.url}/v1/events", headers, params=params or None).start()


def test_the_stream_needs_a_token_with_the_positions_scope(
    api: httpx.Client, bearer: Callable[..., dict[str, str]]
) -> None:
    assert_error(api.get("/v1/events"), 401, "unauthorized")
    assert_error(api.get("/v1/events", headers=bearer("rules:write")), 403, "insufficient_scope")
    assert_error(
        api.get("/v1/events", params={"type": "nope"}, headers=bearer("positions")),
        422,
        "validation_error",
    )


def test_filtered_streams_show_callers_their_own_analyses_and_every_alert(
    integ: Uvicorn, api: httpx.Client, bearer: Callable[..., dict[str, str]]
) -> None:
    alice, bob = bearer("positions", subject="alice"), bearer("positions", subject="bob")
    mine = stream(integ, alice, type=["rule_triggered", "system_alert"])
    everything = stream(integ, bearer("admin"))
    assert mine.status == everything.status == 200
    violating = analyse(api, alice, unique_coffee(), rules=TOO_FAR)
    fine = analyse(api, alice, unique_coffee(), rules=NEAR_OK)
    bobs = analyse(api, bob, unique_coffee(), rules=TOO_FAR)
    # An alert as the Dagster side writes it: straight into the durable event log.
    with open_document_store(integ.env["MUGPOS_DOCUMENT_STORE_URI"]) as store:
        EventLog(store).append(
            Event(type="system_alert", source="dagster", data={"kind": "backup_failed"}),
            "dagster",
        )
    mine.wait(lambda evs: any(e.event == "system_alert" for e in evs))
    everything.wait(lambda evs: len([e for e in evs if e.event == "rule_triggered"]) >= 2)
    time.sleep(0.3)
    got = mine.of_type("rule_triggered", "system_alert", "positioning_analyzed", "mug_detected")
    assert {e.event for e in got} == {"rule_triggered", "system_alert"}
    triggered = [e.json() for e in mine.of_type("rule_triggered")]
    assert [t["data"]["request_id"] for t in triggered] == [violating]  # not bob's, not 'fine'
    violation = triggered[0]["data"]["violations"][0]
    assert violation["rule_id"] == "edge" and violation["measured"] < violation["required"]
    assert triggered[0]["subject"] == "alice"
    alert = mine.of_type("system_alert")[0].json()
    assert alert["source"] == "dagster" and alert["data"]["kind"] == "backup_failed"
    seen = {e.json()["data"]["request_id"] for e in everything.of_type("rule_triggered")}
    assert seen == {violating, bobs}
    analysed = {e.json()["data"]["request_id"] for e in everything.of_type("positioning_analyzed")}
    assert {violating, fine, bobs} <= analysed
    ids = [e.id for e in everything.events if e.id]
    assert len(ids) == len(set(ids))


def test_a_stream_ends_within_its_limit_and_resumes_without_losing_events(
    integ: Uvicorn, api: httpx.Client, bearer: Callable[..., dict[str, str]]
) -> None:
    auth = bearer("positions", subject="carol")
    started = time.monotonic()
    first = stream(integ, auth, type="positioning_analyzed")
    before = analyse(api, auth, unique_coffee())
    first.wait(lambda evs: any(e.event == "positioning_analyzed" for e in evs))
    assert first.ended.wait(10)
    assert time.monotonic() - started < 8  # MUGPOS_EVENTS_STREAM_MAX_S=3, plus start-up
    assert first.events[-1].event == "reconnect" and first.events[-1].retry == 1000
    last_id = [e.id for e in first.events if e.id][-1]
    missed = analyse(api, auth, unique_coffee())  # while no stream is open
    second = stream(integ, {**auth, "Last-Event-ID": str(last_id)}, type="positioning_analyzed")
    second.wait(lambda evs: any(e.event == "positioning_analyzed" for e in evs))
    replayed = [e.json()["data"]["request_id"] for e in second.of_type("positioning_analyzed")]
    assert replayed[0] == missed and before not in replayed
    foreign = stream(integ, {**auth, "Last-Event-ID": "0123456789ab-7"})
    foreign.wait(lambda evs: any(e.event == "gap" for e in evs), timeout_s=5)
    assert foreign.of_type("gap")[0].json()["reason"] == "another server process"


def test_batches_and_server_side_errors_are_events(
    integ: Uvicorn, api: httpx.Client, bearer: Callable[..., dict[str, str]]
) -> None:
    auth = bearer("positions", subject="dave")
    events = stream(integ, auth, type=["batch_completed", "error_occurred"])
    items = [{"image_base64": base64.b64encode(unique_coffee()).decode()}, {"image_base64": "!!"}]
    batch = api.post("/v1/positions/batch", json={"items": items}, headers=auth)
    assert batch.status_code == 200 and batch.json()["failed"] == 1
    broken = api.post(
        "/v1/positions", json={"image_url": "http://mugpos-test.invalid/desk.jpg"}, headers=auth
    )
    assert_error(broken, 502, "url_fetch_failed")
    text = api.get("/v1/search", params={"text": "mug"}, headers=auth)
    assert text.status_code == 501  # the model cannot: not a server error, no event
    events.wait(lambda evs: any(e.event == "error_occurred" for e in evs))
    time.sleep(0.3)
    done = events.of_type("batch_completed")[0].json()["data"]
    assert done["request_id"] == batch.json()["request_id"]
    assert (done["images"], done["succeeded"], done["failed"]) == (2, 1, 1)
    assert done["errors"] == [{"index": 1, "code": "invalid_base64"}]
    errors = [e.json() for e in events.of_type("error_occurred")]
    assert len(errors) == 1 and errors[0]["subject"] == "dave"
    data = errors[0]["data"]
    assert (data["status"], data["code"], data["route"]) == (
        502,
        "url_fetch_failed",
        "/v1/positions",
    )
    assert data["request_id"] == broken.headers["x-request-id"]


@pytest.mark.slow
def test_model_swaps_and_rejected_manifests_are_events(
    shared_home: Path, tmp_path: Path, bearer: Callable[..., dict[str, str]]
) -> None:
    from test_api_manifest_reload import write

    home = tmp_path / "home"
    link_models(shared_home, home)
    server = Uvicorn(base_env(home, tmp_path), tmp_path / "server.log").start()
    try:
        events = stream(server, bearer("positions"), type=["model_updated", "system_alert"])
        store = ModelStore(home / "models", offline=True)
        fingerprint = write(store, "swap")
        events.wait(lambda evs: any(e.event == "model_updated" for e in evs))
        manifest = httpx.get(
            f"{server.url}/v1/models/manifest", headers=bearer("positions"), timeout=10
        ).json()
        write(store, "bad", bad_sha=True)
        events.wait(lambda evs: any(e.event == "system_alert" for e in evs))
    finally:
        server.stop()
    swap = events.of_type("model_updated")[0].json()
    assert swap["subject"] is None  # a platform event: every stream sees it
    assert swap["data"]["manifest_fingerprint"] == fingerprint
    assert (
        swap["data"]["source"] == "manifest" and swap["data"]["reason"] == "served_models_changed"
    )
    assert swap["data"]["detector"]["id"] == "ssd-mobilenetv2-oidv4"
    alert = events.of_type("system_alert")[0].json()["data"]
    assert manifest["detector"] == "ssd-mobilenetv2-oidv4" and manifest["served"] is None
    assert alert["kind"] == "manifest_rejected" and "sha256" in " ".join(alert["problems"])


def test_a_scene_without_a_mug_is_analysed_but_not_scored(
    integ: Uvicorn, api: httpx.Client, bearer: Callable[..., dict[str, str]]
) -> None:
    from skimage import data

    auth = bearer("positions", subject="erin")
    events = stream(integ, auth)
    request_id = analyse(api, auth, png(data.chelsea()), rules=TOO_FAR)
    events.wait(lambda evs: any(e.event == "positioning_analyzed" for e in evs))
    time.sleep(0.3)
    mine = [e.json() for e in events.events if e.event and e.data.startswith("{")]
    mine = [e for e in mine if e.get("data", {}).get("request_id") == request_id]
    assert [e["type"] for e in mine] == ["positioning_analyzed"]  # no mug, no rule event
    data_ = mine[0]["data"]
    assert data_["mugs"] == 0 and data_["scene_score"] is None
    assert data_["score_reason"] == "no mug found: not scored"
