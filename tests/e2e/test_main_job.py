"""The README's first command, for real: materialize everything, serve, answer, stop on Ctrl-C."""

from __future__ import annotations

import socket

import httpx

MATERIALIZED = """
{ assetNodes { assetKey { path } assetMaterializations(limit: 1) { runId } } }
"""


def test_services_answer_and_the_graph_is_materialized(main_job) -> None:  # type: ignore[no-untyped-def]
    out = main_job.log.read_text()
    assert "✗" not in out, out[-3000:]
    api = main_job.url("api")
    assert httpx.get(f"{api}/readyz", timeout=10).json()["ready"] is True
    coffee = (main_job.home / "inbox" / "photo-coffee.jpg").read_bytes()
    resp = httpx.post(
        f"{api}/v1/positions",
        files={"image": ("coffee.jpg", coffee, "image/jpeg")},
        headers={"Authorization": f"Bearer {main_job.token}"},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["models"]["source"] == "manifest"

    mlflow = main_job.url("mlflow")
    assert httpx.get(f"{mlflow}/health", timeout=10).status_code == 200
    runs = httpx.post(
        f"{mlflow}/api/2.0/mlflow/experiments/search", json={"max_results": 50}, timeout=10
    ).json()
    names = " ".join(e["name"] for e in runs["experiments"])
    assert "composites" in names and "real" in names, names

    graphql = f"{main_job.url('dagster')}/graphql"
    nodes = httpx.post(graphql, json={"query": MATERIALIZED}, timeout=30).json()["data"]
    done = {
        "/".join(n["assetKey"]["path"]) for n in nodes["assetNodes"] if n["assetMaterializations"]
    }
    assert {
        "models/ssd_mobilenetv2_oidv4", "model_manifest", "vector_index",
        "evaluation/model_comparison", "backup_manifest",
    } <= done  # fmt: skip


def test_zz_ctrl_c_stops_every_process(main_job) -> None:  # type: ignore[no-untyped-def]
    """Runs last in this module (name order): the other tests need the services up."""
    main_job.stop()
    assert "==> stopped" in main_job.log.read_text()
    for port in main_job.ports.values():
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open after Ctrl-C"
