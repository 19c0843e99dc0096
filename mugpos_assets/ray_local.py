"""A local Ray head on 127.0.0.1, for development, the tests and the benchmark.

``ray start --head --block`` in a process group of its own, so stopping it ends exactly the
processes it started (GCS, raylet, workers) and never another cluster on the same machine,
which ``ray stop`` would. The dashboard and usage stats stay off.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

READY_MARK = "Ray runtime started"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ray_cli() -> str:
    beside = Path(sys.executable).with_name("ray")
    return str(beside) if beside.exists() else (shutil.which("ray") or "ray")


@contextmanager
def local_ray_head(
    num_cpus: int = 2, timeout_s: float = 60.0, free_port: Callable[[], int] = _free_port
) -> Iterator[str]:
    """Start a head, yield its GCS address (``127.0.0.1:<port>``), stop it on exit.

    Workers inherit this process's environment, ``PYTHONPATH`` included, so they import the
    same engine as the driver. ``free_port`` picks its ports (the tests pass their fixture).
    """
    # Short temp dir: Ray's unix sockets live under it, and socket paths are limited to ~107 B.
    temp_dir = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    port = free_port()
    command = [
        _ray_cli(), "start", "--head", "--block",
        "--node-ip-address", "127.0.0.1",
        "--port", str(port),
        "--num-cpus", str(num_cpus),
        "--num-gpus", "0",
        "--include-dashboard=false",
        "--disable-usage-stats",
        "--ray-client-server-port", str(free_port()),
        "--dashboard-agent-listen-port", str(free_port()),
        "--temp-dir", str(temp_dir),
    ]  # fmt: skip
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    log_path = temp_dir / "head.out"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(  # noqa: S603 (our own fixed command line)
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + timeout_s
        while READY_MARK not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ray head did not start: {log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        _stop_group(proc)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _alive_in_group(pgid: int) -> bool:
    import psutil

    for p in psutil.process_iter(["status"]):
        try:
            if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the head's process group, then SIGKILL what is left (GCS and raylet may
    outlive a SIGTERM to ``ray start``)."""
    for sig, grace_s in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            proc.poll()  # reap ``ray start`` itself
            if not _alive_in_group(proc.pid):
                break
            time.sleep(0.1)
        else:
            continue
        break
    proc.wait(timeout=5)
