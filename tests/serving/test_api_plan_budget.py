"""Bounded move planning (issue 16, item 1): a hostile evaluate request answers within the
planner's budget, from the worker pool, in a server process under a memory cap."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving_helpers import Uvicorn, assert_error, base_env

# The server process may allocate at most this much (RLIMIT_DATA: heap and anonymous maps,
# which numpy arrays live in; address space would also count torch's mapped CUDA libraries).
# Before the budget, 500 x 99 grew one process to 22 GB.
MEMORY_CAP = 3 * 1024**3
PLAN_BUDGET_S = 2.0

LAUNCH = """
import resource, runpy, sys
cap = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
sys.argv = ["mugpos", *sys.argv[2:]]
runpy.run_module("mugpos.cli", run_name="__main__")
"""


class CappedUvicorn(Uvicorn):
    """``mugpos serve`` with its memory capped by ``setrlimit`` before it starts."""

    def command(self) -> list[str]:
        return [sys.executable, "-c", LAUNCH, str(MEMORY_CAP), "serve", "--port", str(self.port)]


@pytest.fixture(scope="module")
def capped(serving_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Uvicorn]:
    tmp = tmp_path_factory.mktemp("capped")
    env = {
        **base_env(serving_home, tmp),
        "MUGPOS_AUTH_DISABLED": "true",
        "MUGPOS_PLAN_TIME_BUDGET_S": str(PLAN_BUDGET_S),
        "MUGPOS_REQUEST_TIMEOUT_S": "30",
        "MUGPOS_RATE_LIMIT_PER_MINUTE": "0",
    }
    server = CappedUvicorn(env, tmp / "server.log").start()
    yield server
    server.stop()


def _hostile_body(n_mugs: int = 450, n_objects: int = 50, n_rules: int = 99) -> dict[str, Any]:
    """500 detections (450 mugs on a large table, 50 objects) x 99 rules of every kind: about
    the size of the request that took 22 GB."""
    rng = random.Random(16)

    def box(w: float, h: float) -> dict[str, float]:
        x, y = rng.uniform(0, 3900 - w), rng.uniform(0, 2900 - h)
        return {"x1": x, "y1": y, "x2": x + w, "y2": y + h}

    dets = [{"label": "mug", "raw_label": "Mug", "score": 0.9, "box": box(60, 60)}
            for _ in range(n_mugs)]  # fmt: skip
    labels = ["laptop", "keyboard", "book", "mouse", "monitor"]
    dets += [{"label": labels[i % 5], "raw_label": labels[i % 5], "score": 0.9,
              "box": box(250, 180)} for i in range(n_objects)]  # fmt: skip
    kinds: list[dict[str, Any]] = [
        {"kind": "edge_clearance", "value": 2, "unit": "%"},
        {"kind": "object_clearance", "value": 3, "unit": "%", "object_label": "laptop"},
        {"kind": "mug_spacing", "value": 1, "unit": "%"},
        {"kind": "not_on_object", "object_label": "book"},
        {"kind": "not_in_zone", "zone": "corner"},
        {"kind": "in_zone", "zone": "center", "severity": "info"},
        {"kind": "near_target", "value": 30, "unit": "%", "severity": "info"},
        {"kind": "alignment", "axis": "row", "value": 5, "unit": "%"},
        {"kind": "object_clearance", "value": 2, "unit": "%", "object_label": "keyboard"},
    ]
    rules = [{"id": f"r{i}", "name": f"r{i}", **kinds[i % len(kinds)]} for i in range(n_rules)]
    return {"image_width": 4000, "image_height": 3000, "detections": dets, "rules": rules}


@pytest.mark.slow
def test_500_detections_x_99_rules_answer_within_the_budget_under_a_memory_cap(
    capped: Uvicorn,
) -> None:
    body = _hostile_body()
    assert len(body["detections"]) == 500 and len(body["rules"]) == 99
    with httpx.Client(base_url=capped.url, timeout=60) as http:
        t0 = time.monotonic()
        r = http.post("/v1/rules/evaluate", json=body)
        elapsed = time.monotonic() - t0
        assert r.status_code == 200, r.text[:500]
        answer = r.json()
        # The plan stopped at its budget and says so; evaluation itself is complete.
        assert answer["partial"] is True
        assert any(n.startswith("partial plan") for n in answer["notes"])
        assert len(answer["rule_results"]) == 450 * (99 + 1)  # + the work-area check
        assert len(answer["suggestions"]) == 450
        # Well inside the request timeout: the planner's budget plus evaluation and encoding.
        assert elapsed < PLAN_BUDGET_S + 15.0, elapsed
        # The job really stopped: the server is idle and answers at once, still alive.
        assert capped.proc is not None and capped.proc.poll() is None
        t1 = time.monotonic()
        assert http.get("/healthz").status_code == 200
        assert time.monotonic() - t1 < 2.0


def test_schema_limits_refuse_bigger_requests_before_any_work(capped: Uvicorn) -> None:
    body = _hostile_body(n_mugs=501, n_objects=0, n_rules=101)
    with httpx.Client(base_url=capped.url, timeout=30) as http:
        err = assert_error(http.post("/v1/rules/evaluate", json=body), 422, "validation_error")
    locs = {tuple(e["loc"]) for e in err["details"]["errors"]}
    assert ("body", "detections") in locs and ("body", "rules") in locs
