"""Helpers for the API tests: real processes (uvicorn, redis-server), images, error checks."""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

SECRET = "test-secret-" + "x" * 40
SHARED_REDIS = "redis://127.0.0.1:6379/0"  # the machine's real Redis
# An inline rule the coffee photo's mug breaks (it stands 5 % from the top edge).
EDGE_RULE = {
    "id": "edge-10pct",
    "name": "far from the top",
    "kind": "edge_clearance",
    "value": 10,
    "unit": "%",
    "edges": ["top"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def jpeg(pixels: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def coffee_pixels() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.coffee())


def unique_coffee() -> bytes:
    """The coffee photo with a random 4x4 corner patch: a new sha256 (no cache entry), the same
    scene for the detector."""
    pixels = coffee_pixels().copy()
    pixels[:4, :4] = np.frombuffer(secrets.token_bytes(48), np.uint8).reshape(4, 4, 3)
    return png(pixels)


def png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The one error shape, the expected status and code, and never a traceback."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    assert "Traceback" not in response.text
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def link_models(src_home: Path, dest_home: Path) -> None:
    """A private MUGPOS home sharing the cached model files (hard links, no copy)."""
    shutil.copytree(src_home / "models", dest_home / "models", copy_function=os.link)
    manifest = dest_home / "models" / "manifest.json"
    manifest.unlink(missing_ok=True)  # someone else's manifest is not ours


class Uvicorn:
    """``mugpos serve`` in a subprocess with the given MUGPOS_* environment."""

    ready_path = "/healthz"  # answers 200 once the server is up

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MUGPOS_")}
        self.env = {**clean, **env}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [sys.executable, "-m", "mugpos.cli", "serve", "--port", str(self.port)]

    def start(self, timeout_s: float = 90.0) -> Uvicorn:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.command(),
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: workers are stopped with it
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not up after {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):  # a worker left behind, if any
                os.killpg(self.proc.pid, signal.SIGKILL)

    def worker_pids(self) -> set[int]:
        """The server's child processes (gunicorn's workers) as the kernel sees them now."""
        assert self.proc is not None
        pid = self.proc.pid
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return {int(p) for p in text.split()}


class RedisServer:
    """A private redis-server on a free port, to stop and restart in tests (never the shared
    one on 6379)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        cmd = [
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.workdir),
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port, socket_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def base_env(home: Path, tmp: Path) -> dict[str, str]:
    return {
        "MUGPOS_HOME": str(home),
        "MUGPOS_OFFLINE": "true",
        "MUGPOS_JWT_SECRET": SECRET,
        "MUGPOS_REDIS_URL": SHARED_REDIS,
        "MUGPOS_REDIS_KEY_PREFIX": f"mugpos-test-{uuid.uuid4().hex[:10]}:",
        "MUGPOS_DOCUMENT_STORE_URI": str(tmp / "documents.sqlite3"),
        "MUGPOS_VECTOR_INDEX_URI": str(tmp / "index"),
        "MUGPOS_MANIFEST_POLL_S": "0.3",
        "MUGPOS_INFERENCE_WORKERS": "2",
        "MUGPOS_INFERENCE_THREADS": "1",
    }


class DelayProxy:
    """A TCP proxy on 127.0.0.1 that holds every reply from its upstream for ``delay_s``
    before passing it on (requests go through at once): a slow Redis, as a real socket."""

    def __init__(self, upstream_port: int, delay_s: float) -> None:
        import asyncio
        import threading

        self.upstream_port = upstream_port
        self.delay_s = delay_s
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> DelayProxy:
        self._thread.start()
        assert self._ready.wait(10), "proxy did not start"
        return self

    def _run(self) -> None:
        import asyncio

        asyncio.set_event_loop(self._loop)

        async def pipe(reader, writer, delay: float) -> None:  # type: ignore[no-untyped-def]
            try:
                while chunk := await reader.read(65536):
                    if delay:
                        await asyncio.sleep(delay)
                    writer.write(chunk)
                    await writer.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        async def handle(client_r, client_w) -> None:  # type: ignore[no-untyped-def]
            try:
                up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            except OSError:
                client_w.close()
                return
            await asyncio.gather(pipe(client_r, up_w, 0.0), pipe(up_r, client_w, self.delay_s))

        async def main() -> None:
            self._server = await asyncio.start_server(handle, "127.0.0.1", self.port)
            self._ready.set()
            await self._server.serve_forever()

        with contextlib.suppress(BaseException):  # stopped
            self._loop.run_until_complete(main())

    def stop(self) -> None:
        def shutdown() -> None:
            self._server.close()
            for task in __import__("asyncio").all_tasks(self._loop):
                task.cancel()

        self._loop.call_soon_threadsafe(shutdown)
        self._thread.join(5)


@contextlib.contextmanager
def http_origin(handler: type) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 with ``handler``; yields its base URL."""
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def only_127_0_0_1(ip: object) -> bool:
    """A URL policy that treats 127.0.0.1 (the test origin) as public and nothing else."""
    import ipaddress

    return ip == ipaddress.ip_address("127.0.0.1")
