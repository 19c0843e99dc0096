"""Real HTTP servers on 127.0.0.1 for the integration tests: a webhook receiver that can be
stopped and restarted on its port, a Templated.io stand-in that checks the documented request
shape, and a Server-Sent Events reader."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from PIL import Image


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class _Server:
    """A ThreadingHTTPServer on a fixed port, stoppable and restartable."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> _Server:
        httpd = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler())
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()  # the port refuses connections from now on
            self._httpd = None


class Receiver(_Server):
    """Records every POST in arrival order; answers ``status`` (or ``status_for(path)``)."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.received: list[Received] = []
        self.status = 200
        self.status_for: dict[str, int] = {}
        self._lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = outer.status_for.get(self.path, outer.status)
                if status < 300:
                    with outer._lock:
                        outer.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def on(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, path: str, n: int, timeout_s: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = self.on(path)
            if len(got) >= n:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{len(self.on(path))} of {n} deliveries on {path} arrived")


TEMPLATED_LAYER_PROPS = {  # from Templated's render docs (layer parameters)
    "text", "image_url", "color", "background", "font_family", "font_size", "border_width",
    "border_color", "fill", "stroke", "hide",
}  # fmt: skip


class FakeTemplated(_Server):
    """Answers POST /v1/render as Templated documents it, after checking the request: the
    bearer key, JSON, ``template``, ``format``, ``layers`` with documented properties, and an
    ``image_url`` it can fetch and that is a picture. Problems are kept in ``problems`` and
    answered 400 (Templated's behaviour for a bad request). ``asynchronous`` answers without a
    URL first, for the client to poll GET /v1/render/<id>."""

    def __init__(self, port: int, api_key: str, template_id: str) -> None:
        super().__init__(port)
        self.api_key, self.template_id = api_key, template_id
        self.requests: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.asynchronous = False
        self.polls = 0
        self.card_png = _png((900, 500), (10, 120, 200))

    def handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {outer.api_key}":
                    self._reply(401, b'{"message":"Invalid API key"}')
                    return False
                return True

            def do_POST(self) -> None:
                if self.path != "/v1/render" or not self._authorized():
                    if self.path != "/v1/render":
                        self._reply(404, b'{"message":"not found"}')
                    return
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                problems = outer.check(self.headers.get("Content-Type", ""), raw)
                if problems:
                    outer.problems += problems
                    self._reply(400, json.dumps({"message": "; ".join(problems)}).encode())
                    return
                render_id = uuid.uuid4().hex
                answer = outer.render_object(render_id)
                if outer.asynchronous:
                    answer = {"id": render_id, "status": "pending"}
                self._reply(200, json.dumps(answer).encode())

            def do_GET(self) -> None:
                if self.path.startswith("/renders/"):
                    self._reply(200, outer.card_png, "image/png")
                elif self.path.startswith("/v1/render/") and self._authorized():
                    outer.polls += 1
                    render_id = self.path.rsplit("/", 1)[1]
                    self._reply(200, json.dumps(outer.render_object(render_id)).encode())

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def render_object(self, render_id: str) -> dict[str, Any]:
        return {
            "id": render_id,
            "url": f"{self.url}/renders/{render_id}.png",
            "width": 900,
            "height": 500,
            "format": "png",
            "templateId": self.template_id,
            "templateName": "mugpos card",
            "createdAt": "2026-01-11 10:30:00",
            "status": "completed",
        }

    def check(self, content_type: str, raw: bytes) -> list[str]:
        problems = []
        if not content_type.startswith("application/json"):
            problems.append(f"content type {content_type!r}")
        try:
            body = json.loads(raw)
        except ValueError:
            return [*problems, "body is not JSON"]
        self.requests.append(body)
        if body.get("template") != self.template_id:
            problems.append(f"template {body.get('template')!r}")
        if body.get("format") not in ("jpg", "png", "webp", "pdf"):
            problems.append(f"format {body.get('format')!r}")
        layers = body.get("layers")
        if not isinstance(layers, dict) or not layers:
            return [*problems, "layers must be a non-empty object"]
        for name, props in layers.items():
            unknown = set(props) - TEMPLATED_LAYER_PROPS
            if unknown:
                problems.append(f"layer {name}: undocumented properties {sorted(unknown)}")
        photo = (layers.get("photo") or {}).get("image_url")
        if not photo:
            problems.append("no photo image_url")
        else:
            try:
                fetched = httpx.get(photo, timeout=10)
                Image.open(io.BytesIO(fetched.content)).verify()
                if fetched.status_code != 200:
                    problems.append(f"photo URL answered {fetched.status_code}")
            except Exception as exc:
                problems.append(f"photo URL unusable: {exc}")
        return problems


def _png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class SseEvent:
    event: str | None
    data: str
    id: str | None
    retry: int | None = None

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SseReader:
    """Reads one GET /v1/events stream on a thread, parsing frames as they come."""

    url: str
    headers: dict[str, str]
    params: Any = None
    events: list[SseEvent] = field(default_factory=list)
    status: int | None = None
    ended: threading.Event = field(default_factory=threading.Event)
    connected: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def start(self) -> SseReader:
        threading.Thread(target=self._run, daemon=True).start()
        if not self.connected.wait(15):
            raise AssertionError("the event stream did not open")
        return self

    def _run(self) -> None:
        try:
            with httpx.stream(
                "GET", self.url, headers=self.headers, params=self.params, timeout=60
            ) as response:
                self.status = response.status_code
                self.connected.set()
                frame: dict[str, str] = {}
                for line in response.iter_lines():
                    if line == "":
                        if frame:
                            self.events.append(
                                SseEvent(
                                    frame.get("event"),
                                    frame.get("data", ""),
                                    frame.get("id"),
                                    int(frame["retry"]) if "retry" in frame else None,
                                )
                            )
                        frame = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        frame[name] = frame[name] + "\n" + value if name in frame else value
        except BaseException as exc:
            self.error = exc
            self.connected.set()
        finally:
            self.ended.set()

    def of_type(self, *types: str) -> list[SseEvent]:
        return [e for e in self.events if e.event in types]

    def wait(self, cond: Callable[[list[SseEvent]], bool], timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if cond(self.events):
                return
            time.sleep(0.05)
        raise AssertionError(f"stream: condition not met; got {[e.event for e in self.events]}")
