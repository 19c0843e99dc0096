"""The README's first command, started once for the e2e tests: everything up on free ports."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class MainJob:
    proc: subprocess.Popen[bytes]
    home: Path
    log: Path
    ports: dict[str, int]
    token: str

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)  # what Ctrl-C sends
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise


@pytest.fixture(scope="session")
def main_job(
    tmp_path_factory: pytest.TempPathFactory,
    shared_home: Path,
    ssd,
    free_port: Callable[[], int],
) -> Iterator[MainJob]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("main-job")
    ports = {"dagster": free_port(), "api": free_port(), "mlflow": free_port()}
    home = tmp / "home"
    # Reuse the session's model cache so the job does not npm-pack the model again.
    (home / "models").mkdir(parents=True)
    for item in (shared_home / "models").iterdir():
        if item.is_dir():
            (home / "models" / item.name).symlink_to(item)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MUGPOS_")},
        "DAGSTER_PORT": str(ports["dagster"]),
        "API_PORT": str(ports["api"]),
        "MLFLOW_PORT": str(ports["mlflow"]),
        "MUGPOS_HOME": str(home),
        "DAGSTER_HOME": str(tmp / "dagster"),
    }
    log = tmp / "main.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["bash", "scripts/main.sh"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    job = MainJob(proc, home, log, ports, token="")
    try:
        deadline = time.monotonic() + 600
        while "Ctrl-C stops everything" not in log.read_text():
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "main job did not come up in 10 minutes"
            time.sleep(2)
        job.token = log.read_text().split("export MUGPOS_TOKEN=")[1].split()[0]
        yield job
    finally:
        job.stop()
