"""Nothing is lost when our own process dies: pending deliveries are in the document store, and
the next API process (after the dead one's dispatcher lease expires) delivers them, in order."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from conftest import integration_env
from receivers import Receiver
from serving_helpers import Uvicorn, unique_coffee
from test_webhooks_live import analyse, subscribe, wait_until

pytestmark = pytest.mark.slow


def test_a_killed_server_loses_no_pending_delivery(
    serving_home: Path,
    tmp_path: Path,
    receiver: Receiver,
    bearer: Callable[..., dict[str, str]],
) -> None:
    # Its own document store; enough tries that nothing is dead-lettered while refused.
    env = integration_env(serving_home, tmp_path, MUGPOS_WEBHOOK_MAX_ATTEMPTS="50")
    first = Uvicorn(env, tmp_path / "first.log").start()
    path = f"/restart-{uuid.uuid4().hex[:6]}"
    admin, auth = bearer("admin"), bearer("positions")
    try:
        with httpx.Client(base_url=first.url, timeout=30) as api:
            subscribe(api, admin, receiver.url + path, ["positioning_analyzed", "mug_detected"])
            receiver.status_for[path] = 503  # the receiver refuses everything for now
            image = unique_coffee()
            sent = [analyse(api, auth, image) for _ in range(3)]

            def logged() -> bool:
                events = api.get("/v1/webhooks/status", headers=admin).json()["events"]
                return events["queued"] == 0 and events["logged"] >= 6

            wait_until(logged)  # the events are in the store, not only in memory
        assert first.proc is not None
        first.proc.send_signal(signal.SIGKILL)  # no shutdown: the lease is left held
        first.proc.wait(timeout=10)
    finally:
        first.stop()
    assert receiver.on(path) == []
    receiver.status_for[path] = 200
    started = time.monotonic()
    second = Uvicorn(env, tmp_path / "second.log").start()
    try:
        got = receiver.wait_for(path, 6, timeout_s=40)
        assert time.monotonic() - started < 40
        time.sleep(0.5)
        got = receiver.on(path)
        ids = [r.event["id"] for r in got]
        assert len(ids) == len(set(ids)) == 6
        analysed = [
            r.event["data"]["request_id"] for r in got if r.event["type"] == "positioning_analyzed"
        ]
        assert analysed == sent
        seqs = [r.event["seq"] for r in got]
        assert seqs == sorted(seqs)
    finally:
        second.stop()
