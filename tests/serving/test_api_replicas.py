"""``mugpos serve --workers 2``: two real API processes behind one port (gunicorn + uvicorn
workers), the machine's real Redis under a unique key prefix.

Which process answered a request is read from ``/metrics`` itself: the per-process gauge
``mugpos_process_api_requests{pid=...}`` counts each process's /v1/ answers (scrapes are not
counted, so reading it does not move it). Every request goes on a fresh connection, so the
kernel hands it to whichever worker accepts first.
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from serving_helpers import Uvicorn, base_env, unique_coffee

pytestmark = pytest.mark.slow
LIMIT = 40  # per principal and minute on this server


class Replicas(Uvicorn):
    """``mugpos serve --workers 2``: gunicorn's master and two workers, one process group
    (the helper stops the whole group)."""

    def command(self) -> list[str]:
        return [*super().command(), "--workers", "2"]


@pytest.fixture(scope="module")
def replicas(serving_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Uvicorn]:
    tmp = tmp_path_factory.mktemp("replicas")
    env = {
        **base_env(serving_home, tmp),
        "MUGPOS_RATE_LIMIT_PER_MINUTE": str(LIMIT),
        "MUGPOS_INFERENCE_WORKERS": "1",
    }
    server = Replicas(env, tmp / "server.log").start()
    deadline = time.monotonic() + 60  # /healthz answers once one worker is up: wait for both
    while len(per_process(server)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    yield server
    server.stop()


def fresh(server: Uvicorn, path: str, headers: dict | None, **kwargs: object) -> httpx.Response:
    """One request on its own connection (no keep-alive: any worker may take it)."""
    method = "POST" if "json" in kwargs else "GET"
    return httpx.request(method, server.url + path, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]


def metrics(server: Uvicorn) -> str:
    return httpx.get(server.url + "/metrics", timeout=10).text


def per_process(server: Uvicorn, text: str | None = None) -> dict[int, float]:
    """pid → API requests that process has answered."""
    text = metrics(server) if text is None else text
    found = re.findall(r'^mugpos_process_api_requests\{pid="(\d+)"\} ([0-9.e+]+)$', text, re.M)
    return {int(pid): float(v) for pid, v in found}


def counter(text: str, route: str, status: str) -> float:
    pattern = (
        r'^mugpos_http_requests_total\{method="(?:GET|POST)",route="'
        + re.escape(route)
        + rf'",status="{status}"\}} ([0-9.e+]+)$'
    )
    match = re.search(pattern, text, re.M)
    return float(match.group(1)) if match else 0.0


def delta(before: dict[int, float], after: dict[int, float]) -> dict[int, float]:
    return {pid: after[pid] - before.get(pid, 0.0) for pid in after}


def answered_by(server: Uvicorn, send: Callable[[], httpx.Response]) -> tuple[int, httpx.Response]:
    """Send one request and tell which process answered it (the one whose count moved; a
    process counts a request just after its answer is sent, so wait for the count)."""
    before = per_process(server)
    response = send()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        moved = {pid: d for pid, d in delta(before, per_process(server)).items() if d}
        if sum(moved.values()) == 1:
            return next(iter(moved)), response
        time.sleep(0.02)
    raise AssertionError("no process counted the request")


def bearer(make_token: Callable[..., str], subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('positions', subject=subject)}"}


def test_requests_land_on_both_processes_and_metrics_count_them(
    replicas: Uvicorn, make_token: Callable[..., str]
) -> None:
    headers = bearer(make_token, f"spread-{uuid.uuid4().hex[:8]}")
    text0 = metrics(replicas)
    before = per_process(replicas, text0)
    assert set(before) == replicas.worker_pids()  # the series are the live workers' pids
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(lambda _: fresh(replicas, "/v1/rules", headers).status_code, range(30))
        )
    assert codes == [200] * 30
    time.sleep(0.2)  # each process counts just after answering
    text1 = metrics(replicas)
    moved = delta(before, per_process(replicas, text1))
    assert sum(moved.values()) == 30 and all(n > 0 for n in moved.values()), moved
    # The counter any one process serves adds up both processes' requests.
    assert counter(text1, "/v1/rules", "200") - counter(text0, "/v1/rules", "200") == 30


def test_the_rate_limit_holds_exactly_across_processes(
    replicas: Uvicorn, make_token: Callable[..., str]
) -> None:
    headers = bearer(make_token, f"limit-{uuid.uuid4().hex[:8]}")
    before = per_process(replicas)
    with ThreadPoolExecutor(8) as pool:
        admitted = list(pool.map(lambda _: fresh(replicas, "/v1/rules", headers), range(LIMIT)))
    assert [r.status_code for r in admitted] == [200] * LIMIT
    # One count for both processes: every admission saw a different total.
    remaining = sorted(int(r.headers["x-ratelimit-remaining"]) for r in admitted)
    assert remaining == list(range(LIMIT))
    with ThreadPoolExecutor(4) as pool:
        refused = list(pool.map(lambda _: fresh(replicas, "/v1/rules", headers), range(8)))
    assert [r.status_code for r in refused] == [429] * 8
    assert all(1 <= int(r.headers["retry-after"]) <= 60 for r in refused)
    assert all(r.json()["error"]["code"] == "rate_limited" for r in refused)
    time.sleep(0.2)
    moved = delta(before, per_process(replicas))
    assert sum(moved.values()) == LIMIT + 8 and all(n > 0 for n in moved.values()), moved
    other = bearer(make_token, f"limit-other-{uuid.uuid4().hex[:8]}")
    assert fresh(replicas, "/v1/rules", other).status_code == 200  # its own budget


def test_a_result_computed_by_one_process_is_a_hit_in_the_other(
    replicas: Uvicorn, make_token: Callable[..., str]
) -> None:
    import base64

    headers = bearer(make_token, f"cache-{uuid.uuid4().hex[:8]}")
    payload = {"image_base64": base64.b64encode(unique_coffee()).decode()}

    def send() -> httpx.Response:
        return fresh(replicas, "/v1/positions", headers, json=payload)

    first_pid, first = answered_by(replicas, send)
    assert first.status_code == 200 and first.json()["cache"] == "miss"
    for _ in range(25):  # until the other process takes one
        pid, again = answered_by(replicas, send)
        assert again.status_code == 200 and again.json()["cache"] == "hit"
        if pid != first_pid:
            break
    assert pid != first_pid, "every request went to one process"
    assert again.json()["detections"] == first.json()["detections"]


def test_a_dead_worker_is_replaced_and_forgotten_by_live_gauges(
    replicas: Uvicorn, make_token: Callable[..., str]
) -> None:
    """gunicorn restarts a killed worker; the master marks it dead in the metric files, so
    its per-process series goes while the counters keep its requests."""
    headers = bearer(make_token, f"dead-{uuid.uuid4().hex[:8]}")
    assert fresh(replicas, "/v1/rules", headers).status_code == 200
    text0 = metrics(replicas)
    total0 = counter(text0, "/v1/rules", "200")
    old = replicas.worker_pids()
    victim = min(old)
    os.kill(victim, signal.SIGKILL)
    answered = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answered += fresh(replicas, "/v1/rules", headers).status_code == 200  # still served
        now = replicas.worker_pids()
        if len(now) == 2 and victim not in now and set(per_process(replicas)) == now:
            break
        time.sleep(0.2)
    text1 = metrics(replicas)
    live = per_process(replicas, text1)
    assert victim not in live and set(live) == replicas.worker_pids(), (victim, live)
    # The counters still hold the dead worker's requests: totals never go back.
    assert counter(text1, "/v1/rules", "200") == total0 + answered


def test_each_start_gets_an_empty_metrics_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files of an earlier start would be summed into this one's counters: a configured
    directory is emptied, none configured means a new one; prometheus_client switches to
    multiprocess values even if it was imported before."""
    from prometheus_client import values

    from mugpos_serving.replicas import ENV, prepare_metrics_dir

    monkeypatch.setattr(values, "ValueClass", values.ValueClass)  # restored afterwards
    monkeypatch.setenv(ENV, "unset-after-the-test")  # records the original, to restore it
    configured = tmp_path / "metrics"
    (configured / "old").mkdir(parents=True)
    (configured / "counter_123.db").write_bytes(b"stale")
    path, owned = prepare_metrics_dir(configured)
    assert (path, owned) == (configured, False) and list(configured.iterdir()) == []
    assert os.environ[ENV] == str(configured)
    assert values.ValueClass.__name__ == "MmapedValue"  # the multiprocess kind
    made, owned = prepare_metrics_dir(None)
    try:
        assert owned and made.is_dir() and list(made.iterdir()) == [] and made != configured
        assert os.environ[ENV] == str(made)
    finally:
        made.rmdir()
