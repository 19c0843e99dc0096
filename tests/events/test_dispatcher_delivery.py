"""The dispatcher's state machine on both document stores, delivering over real HTTP to a
receiver on 127.0.0.1: retries until success, in order; dead letter after N tries; replay."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from mugpos.docstore import DocumentStore
from mugpos.events import Event, EventLog
from mugpos.webhooks import Dispatcher, Outbox, RetryPolicy, SubscriptionStore


class Receiver:
    def __init__(self) -> None:
        self.got: dict[str, list[bytes]] = {}
        self.fail_first: dict[str, int] = {"/flaky": 2}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                left = outer.fail_first.get(self.path, 0)
                ok = self.path != "/down" and left == 0
                outer.fail_first[self.path] = max(0, left - 1)
                if ok:
                    outer.got.setdefault(self.path, []).append(body)
                self.send_response(200 if ok else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


class HttpTransport:
    """A plain real HTTP transport (the API's adds the SSRF guard on top)."""

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
        async with httpx.AsyncClient() as client:
            return (
                await client.post(url, content=body, headers=headers, timeout=timeout_s)
            ).status_code


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.httpd.shutdown()
    r.httpd.server_close()


def test_retries_in_order_dead_letters_and_replays(
    store: DocumentStore, receiver: Receiver
) -> None:
    log, subs, outbox = EventLog(store), SubscriptionStore(store), Outbox(store)
    flaky = subs.create(
        url=f"{receiver.url}/flaky", secret="s" * 20, event_types=("system_alert",), from_seq=0
    )
    down = subs.create(
        url=f"{receiver.url}/down", secret="t" * 20, event_types=("model_updated",), from_seq=0
    )
    alerts = [
        log.append(Event(type="system_alert", source="dagster", data={"n": n}), "x")
        for n in range(3)
    ]
    log.append(Event(type="model_updated", source="dagster"), "x")
    policy = RetryPolicy(max_attempts=3, base_s=0.01, max_s=0.02)
    dispatcher = Dispatcher(store, HttpTransport(), policy, poll_s=0.01, timeout_s=2)

    async def until(cond: object, limit: int = 500) -> None:
        for _ in range(limit):
            await dispatcher.tick()
            if cond():  # type: ignore[operator]
                return
            await asyncio.sleep(0.01)
        raise AssertionError("not reached")

    asyncio.run(
        until(lambda: len(receiver.got.get("/flaky", [])) == 3 and outbox.list(down.id, "dead", 5))
    )
    bodies = [json.loads(b) for b in receiver.got["/flaky"]]
    assert [b["id"] for b in bodies] == [e.id for e in alerts]  # in order, each once
    log_ = {d.seq: d for d in outbox.list(flaky.id, "delivered", 10)}
    assert [log_[e.seq].attempts for e in alerts] == [3, 1, 1]  # two 500s, then through
    assert [a.status_code for a in log_[alerts[0].seq].history] == [500, 500, 200]
    (dead,) = outbox.list(down.id, "dead", 5)
    assert dead.attempts == 3 and outbox.head(down.id) == []
    again = outbox.replay(dead.id)
    assert again.status == "pending" and again.attempts == 0 and again.replayed == 1
    assert outbox.list(down.id, "dead", 5) == []
