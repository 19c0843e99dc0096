"""Stores each served analysis (``analyses``, source "api") off the request path.

Feedback joins analyses by request id, and the evaluation later reads both. The id is the
server-made request id (never the client's ``X-Request-ID``, which is kept as
``client_request_id`` for correlation only), and documents are inserted, never replaced: no
request can overwrite another's record. Writing a document
per request on the request path would put a database commit into every latency, so a single
background thread writes from a bounded queue on its own store connection, every analysis
waiting within ``LINGER_S`` in one transaction (one commit for many cache hits, where a
commit each cost more than serving the hit), and on SQLite without an fsync per commit
(``synchronous=NORMAL``: a power cut may lose the last moments of records, which are best
effort anyway); when the queue is full the analysis is dropped and counted (serving beats
recording).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mugpos.docstore import DocumentStore
from mugpos_serving.metrics import Metrics

log = logging.getLogger(__name__)
ANALYSES = "analyses"
MAX_BATCH = 256
LINGER_S = 0.01


@dataclass(frozen=True)
class Recorded:
    """One served analysis. A cache hit carries no result: the request that computed it was
    recorded with the same ``cache_key``, so parsing and storing the answer again is skipped."""

    request_id: str
    client_request_id: str | None
    subject: str
    cache: str
    cache_key: str
    image_sha256: str
    model_id: str
    model_version: str
    rules_hash: str
    result_json: bytes | None  # a PositionResult, as served (None for cache hits)


class AnalysisRecorder:
    def __init__(self, store: DocumentStore, metrics: Metrics, max_pending: int = 1000) -> None:
        self.store = store
        self.collection = store.collection(ANALYSES)
        self.metrics = metrics
        execute = getattr(store, "execute", None)
        if execute is not None:  # SQLite: this connection is the recorder's own
            execute("PRAGMA synchronous=NORMAL", [])
        self._queue: queue.Queue[Recorded | None] = queue.Queue(max_pending)
        self._thread = threading.Thread(target=self._run, name="mugpos-recorder", daemon=True)
        self._thread.start()

    def record(self, item: Recorded) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.metrics.analyses_dropped.inc()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + LINGER_S
            while len(batch) < MAX_BATCH and batch[-1] is not None:
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            try:
                items = [item for item in batch if item is not None]
                if items:
                    try:
                        self._write(items)
                    except Exception:  # the writer thread must outlive any one failure
                        log.exception("recording %d analyses failed", len(items))
                if len(items) < len(batch):
                    return  # closed
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _write(self, items: list[Recorded]) -> None:
        """Insert the items; in one transaction where the store has them (SQLite)."""
        execute = getattr(self.store, "execute", None)  # SqliteDocumentStore: its own connection
        if execute is not None and len(items) > 1:
            execute("BEGIN", [])
        try:
            for item in items:
                try:
                    self.collection.insert(_document(item))
                except Exception:
                    log.exception("recording analysis %s failed", item.request_id)
        finally:
            if execute is not None and len(items) > 1:
                execute("COMMIT", [])

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued so far is written; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def get(self, request_id: str) -> dict[str, Any] | None:
        return self.collection.get(request_id)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
        self.store.close()


def _document(item: Recorded) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": item.request_id,
        "client_request_id": item.client_request_id,
        "source": "api",
        "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "subject": item.subject,
        "cache": item.cache,
        "cache_key": item.cache_key,
        "image_sha256": item.image_sha256,
        "model_id": item.model_id,
        "model_version": item.model_version,
        "rules_hash": item.rules_hash,
    }
    if item.result_json is not None:
        doc["result"] = json.loads(item.result_json)
    return doc
