"""`dagster dev -w workspace.yaml` loads the code location with no errors, and its GraphQL API
lists every asset group, check, schedule and sensor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]

QUERY = """
{
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name
        assetGroups { groupName }
        assetNodes {
          assetKey { path } groupName kinds
          assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
        }
        schedules { name scheduleState { status } }
        sensors { name sensorState { status } }
        jobs { name }
      }
    }
  }
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def dagster_dev(
    tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int]
) -> Iterator[str]:
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "MUGPOS_HOME": str(tmp_path_factory.mktemp("mugpos_home")),
    }
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.Popen(
        [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.post(url, json={"query": "{ version }"}, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "dagster dev exited early"
            time.sleep(1)
        else:
            pytest.fail("dagster dev did not answer within 120 s")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_graphql_lists_groups_checks_schedules_sensors(dagster_dev: str) -> None:
    data = None
    for _ in range(60):  # the code server may still be loading
        data = httpx.post(dagster_dev, json={"query": QUERY}, timeout=30).json()["data"]
        entries = data["workspaceOrError"]["locationEntries"]
        if entries and entries[0]["locationOrLoadError"] is not None:
            break
        time.sleep(1)
    assert data is not None
    location = data["workspaceOrError"]["locationEntries"][0]["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", location
    repo = data["repositoriesOrError"]["nodes"][0]
    groups = {g["groupName"] for g in repo["assetGroups"]}
    assert {
        "models",
        "corpus",
        "analyses",
        "embeddings",
        "index",
        "evaluation",
        "backups",
    } <= groups
    keys = {"/".join(n["assetKey"]["path"]) for n in repo["assetNodes"]}
    assert {
        "image_corpus",
        "image_embeddings",
        "scene_analyses",
        "vector_index",
        "model_manifest",
    } <= keys
    assert {s["name"] for s in repo["schedules"]} == {"nightly_reembed", "daily_backup_schedule"}
    assert {s["name"] for s in repo["sensors"]} >= {"inbox_sensor"}
    assert "shard_refresh" in {j["name"] for j in repo["jobs"]}
    corpus_checks = [
        c["name"]
        for n in repo["assetNodes"]
        if n["assetKey"]["path"] == ["image_corpus"]
        for c in n["assetChecksOrError"]["checks"]
    ]
    assert corpus_checks == ["corpus_reject_rate"]
    checks = {
        c["name"]: c["blocking"]
        for n in repo["assetNodes"]
        if n["assetKey"]["path"] == ["vector_index"]
        for c in n["assetChecksOrError"]["checks"]
    }
    assert checks == {
        "vector_dimension_and_norms": True,
        "index_count_matches_embeddings": True,
        "self_retrieval_probe": True,
    }
