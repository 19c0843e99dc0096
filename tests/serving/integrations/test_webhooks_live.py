"""Webhooks end to end against a real receiver on 127.0.0.1: subscriptions (admin), signed
deliveries in order, the receiver stopped and restarted mid-stream, dead letters and replay."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable

import httpx
from receivers import Receiver
from serving_helpers import assert_error, unique_coffee

from mugpos.webhooks import signing


def subscribe(
    api: httpx.Client, admin: dict[str, str], url: str, types: list[str]
) -> dict[str, object]:
    r = api.post("/v1/webhooks", json={"url": url, "event_types": types}, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def analyse(api: httpx.Client, auth: dict[str, str], image: bytes, **options: object) -> str:
    body = {"image_base64": base64.b64encode(image).decode(), "options": options}
    r = api.post("/v1/positions", json=body, headers=auth)
    assert r.status_code == 200, r.text
    return str(r.json()["request_id"])


def wait_until(cond: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_subscriptions_are_admin_only_and_never_show_the_secret_again(
    api: httpx.Client, bearer: Callable[..., dict[str, str]], receiver: Receiver
) -> None:
    url = f"{receiver.url}/crud-{uuid.uuid4().hex[:6]}"
    body = {"url": url, "event_types": ["system_alert"]}
    assert_error(api.post("/v1/webhooks", json=body), 401, "unauthorized")
    assert_error(api.post("/v1/webhooks", json=body, headers=bearer("positions")), 403)
    admin = bearer("admin")
    created = subscribe(api, admin, url, ["system_alert"])
    secret = str(created["secret"])
    assert secret.startswith("whsec_") and len(secret) > 30
    listed = {s["id"]: s for s in api.get("/v1/webhooks", headers=admin).json()}
    assert listed[created["id"]]["secret"] is None
    assert listed[created["id"]]["secret_hint"] == secret[:10] + "…"
    rotated = api.patch(
        f"/v1/webhooks/{created['id']}", json={"rotate_secret": True}, headers=admin
    ).json()
    assert rotated["secret"] and rotated["secret"] != secret
    patched = api.patch(
        f"/v1/webhooks/{created['id']}", json={"enabled": False}, headers=admin
    ).json()
    assert patched["enabled"] is False and patched["secret"] is None
    bad = api.post(
        "/v1/webhooks", json={"url": "ftp://x.example", "event_types": ["system_alert"]},
        headers=admin,
    )  # fmt: skip
    assert_error(bad, 422, "validation_error")
    unknown = api.post("/v1/webhooks", json={"url": url, "event_types": ["nope"]}, headers=admin)
    assert_error(unknown, 422, "validation_error")
    assert api.delete(f"/v1/webhooks/{created['id']}", headers=admin).status_code == 204
    assert_error(api.get(f"/v1/webhooks/{created['id']}", headers=admin), 404)


def test_link_local_targets_stay_refused_even_when_private_ones_are_allowed(
    api: httpx.Client, bearer: Callable[..., dict[str, str]]
) -> None:
    admin = bearer("admin")
    targets = (
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/x",
        "http://nowhere.invalid/",
    )
    for url in targets:
        r = api.post(
            "/v1/webhooks", json={"url": url, "event_types": ["mug_detected"]}, headers=admin
        )
        assert_error(r, 422, "url_not_allowed")


def test_every_event_arrives_once_in_order_across_a_receiver_outage(
    api: httpx.Client, bearer: Callable[..., dict[str, str]], receiver: Receiver
) -> None:
    admin, auth = bearer("admin"), bearer("positions")
    path = f"/outage-{uuid.uuid4().hex[:6]}"
    sub = subscribe(api, admin, receiver.url + path, ["positioning_analyzed"])
    image = unique_coffee()
    sent = [analyse(api, auth, image) for _ in range(3)]
    receiver.wait_for(path, 3)
    receiver.stop()  # down mid-stream: deliveries fail and are retried
    try:
        sent += [analyse(api, auth, image) for _ in range(4)]
        deliveries = f"/v1/webhooks/{sub['id']}/deliveries"
        wait_until(
            lambda: any(
                d["status"] == "pending" and d["attempts"] >= 2
                for d in api.get(deliveries, headers=admin).json()
            )
        )
    finally:
        receiver.start()
    got = receiver.wait_for(path, 7)
    time.sleep(0.5)  # nothing more may come
    got = receiver.on(path)
    ids = [r.headers["X-Mugpos-Event-Id"] for r in got]
    assert len(ids) == len(set(ids)) == 7, ids  # each event once
    assert [r.event["data"]["request_id"] for r in got] == sent  # in order
    assert [r.event["seq"] for r in got] == sorted(r.event["seq"] for r in got)
    for r in got:
        assert r.event["id"] == r.headers["X-Mugpos-Event-Id"]
        assert r.event["type"] == r.headers["X-Mugpos-Event-Type"] == "positioning_analyzed"
        assert signing.verify(str(sub["secret"]), r.headers, r.body)
    # A forged or altered delivery is detectable.
    first = got[0]
    assert not signing.verify(
        str(sub["secret"]), first.headers, first.body.replace(b"positioning", b"xpositioning")
    )
    assert not signing.verify("whsec_wrong-secret-of-someone-else", first.headers, first.body)
    stale = {**first.headers, "X-Mugpos-Timestamp": str(int(time.time()) - 3600)}
    assert not signing.verify(str(sub["secret"]), stale, first.body)
    wait_until(
        lambda: all(d["status"] != "pending" for d in api.get(deliveries, headers=admin).json())
    )
    log = api.get(deliveries, headers=admin).json()
    assert [d["status"] for d in log] == ["delivered"] * 7
    retried = [d for d in log if d["attempts"] > 1]
    assert retried and all(d["history"][0]["status_code"] is None for d in retried)


def test_a_delivery_is_dead_lettered_after_its_tries_and_replayed(
    api: httpx.Client, bearer: Callable[..., dict[str, str]], receiver: Receiver
) -> None:
    admin, auth = bearer("admin"), bearer("positions")
    path = f"/dead-{uuid.uuid4().hex[:6]}"
    receiver.status_for[path] = 500
    sub = subscribe(api, admin, receiver.url + path, ["positioning_analyzed"])
    request_id = analyse(api, auth, unique_coffee())
    dead_url = f"/v1/webhooks/{sub['id']}/deliveries"
    wait_until(lambda: bool(api.get(dead_url, params={"status": "dead"}, headers=admin).json()))
    dead = api.get(dead_url, params={"status": "dead"}, headers=admin).json()
    assert len(dead) == 1 and dead[0]["attempts"] == 4  # MUGPOS_WEBHOOK_MAX_ATTEMPTS
    assert [a["status_code"] for a in dead[0]["history"]] == [500] * 4
    assert receiver.on(path) == []
    receiver.status_for[path] = 200
    replay = api.post(f"{dead_url}/{dead[0]['id']}/replay", headers=admin)
    assert replay.status_code == 202 and replay.json()["status"] == "pending"
    got = receiver.wait_for(path, 1)
    assert got[0].event["data"]["request_id"] == request_id
    assert got[0].headers["X-Mugpos-Event-Id"] == dead[0]["event_id"]
    # The receiver answers before the dispatcher records the outcome.
    one = f"{dead_url}/{dead[0]['id']}"
    wait_until(lambda: api.get(one, headers=admin).json()["status"] != "pending")
    done = api.get(one, headers=admin).json()
    assert done["status"] == "delivered" and done["replayed"] == 1
    other = api.post(f"{dead_url}/whk_0000000000000000:0000000000000001/replay", headers=admin)
    assert_error(other, 404)


def test_private_targets_are_refused_unless_allowed_for_development(
    client: object, make_token: Callable[..., str]
) -> None:
    """The in-process app has the default settings: no MUGPOS_OUTBOUND_ALLOW_PRIVATE."""
    admin = {"Authorization": f"Bearer {make_token('admin')}"}
    for url in ("http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://[::1]:8080/hook"):
        r = client.post(  # type: ignore[attr-defined]
            "/v1/webhooks", json={"url": url, "event_types": ["system_alert"]}, headers=admin
        )
        assert_error(r, 422, "url_not_allowed")
