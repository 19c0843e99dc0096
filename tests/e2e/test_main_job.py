"""The README's first command, for real: materialize everything, serve, answer, stop on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


MATERIALIZED = """
{ assetNodes { assetKey { path } assetMaterializations(limit: 1) { runId } } }
"""


@pytest.mark.slow
def test_main_job_brings_everything_up_and_stops_cleanly(
    tmp_path: Path, shared_home: Path, ssd
) -> None:  # type: ignore[no-untyped-def]
    ports = {name: _free_port() for name in ("DAGSTER_PORT", "API_PORT", "MLFLOW_PORT")}
    home = tmp_path / "home"
    # Reuse the session's model cache so the test does not npm-pack the model again.
    (home / "models").mkdir(parents=True)
    for item in (shared_home / "models").iterdir():
        if item.is_dir():
            (home / "models" / item.name).symlink_to(item)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MUGPOS_")},
        **{k: str(v) for k, v in ports.items()},
        "MUGPOS_HOME": str(home),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
    }
    log = (tmp_path / "main.log").open("w+")
    proc = subprocess.Popen(
        ["bash", "scripts/main.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while "Ctrl-C stops everything" not in (tmp_path / "main.log").read_text():
            assert proc.poll() is None, (tmp_path / "main.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "main job did not come up in 10 minutes"
            time.sleep(2)
        out = (tmp_path / "main.log").read_text()
        assert "✗" not in out, out[-3000:]
        token = out.split("export MUGPOS_TOKEN=")[1].split()[0]

        api = f"http://127.0.0.1:{ports['API_PORT']}"
        assert httpx.get(f"{api}/readyz", timeout=10).json()["ready"] is True
        coffee = (home / "inbox" / "photo-coffee.jpg").read_bytes()
        resp = httpx.post(
            f"{api}/v1/positions",
            files={"image": ("coffee.jpg", coffee, "image/jpeg")},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["models"]["source"] == "manifest"

        mlflow = f"http://127.0.0.1:{ports['MLFLOW_PORT']}"
        assert httpx.get(f"{mlflow}/health", timeout=10).status_code == 200
        runs = httpx.post(
            f"{mlflow}/api/2.0/mlflow/experiments/search", json={"max_results": 50}, timeout=10
        ).json()
        names = " ".join(e["name"] for e in runs["experiments"])
        assert "composites" in names and "real" in names, names

        graphql = f"http://127.0.0.1:{ports['DAGSTER_PORT']}/graphql"
        nodes = httpx.post(graphql, json={"query": MATERIALIZED}, timeout=30).json()["data"]
        done = {
            "/".join(n["assetKey"]["path"])
            for n in nodes["assetNodes"]
            if n["assetMaterializations"]
        }
        assert {
            "models/ssd_mobilenetv2_oidv4", "model_manifest", "vector_index",
            "evaluation/model_comparison", "backup_manifest",
        } <= done  # fmt: skip
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert "==> stopped" in (tmp_path / "main.log").read_text()
    for port in ports.values():
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open after Ctrl-C"
