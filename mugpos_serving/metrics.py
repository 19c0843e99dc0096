"""Prometheus metrics, one registry per app (so tests can build several apps in one process).

Labels are bounded: routes are templates (``/v1/rules/{rule_id}``), never raw paths.

With several server processes (``mugpos serve --workers N``) each process writes its values
to files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode, switched on
by ``mugpos serve`` before any worker imports the client), and ``/metrics``, whichever process
answers it, reads them all: counters and histograms are summed over the processes (dead ones
included, so totals never go back), and each gauge says how its processes combine
(``multiprocess_mode``; ``live*`` modes forget a process once it is marked dead). One gauge,
``mugpos_process_api_requests``, keeps a ``pid`` label: how the load spreads over the
processes. In one process nothing of this applies and the registry is rendered directly.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

# Fine at the low end: a cache hit is about a millisecond, inference 10–30 ms.
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "mugpos_http_requests_total",
            "HTTP requests.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "mugpos_http_request_duration_seconds",
            "Time from request start to response end.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.inference = Histogram(
            "mugpos_inference_duration_seconds",
            "Model time per call (detect: the forward pass and decoding; analyze: all stages).",
            ["model", "stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_wait = Histogram(
            "mugpos_inference_queue_wait_seconds",
            "Time a job waited for an inference worker.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.process_requests = Gauge(
            "mugpos_process_api_requests",
            "API requests (/v1/) this server process answered since it started: how the load "
            "spreads (a pid label per live process with several processes; probes and scrapes "
            "are not counted).",
            multiprocess_mode="liveall",
            registry=r,
        )
        self.queue_depth = Gauge(
            "mugpos_inference_queue_depth",
            "Jobs waiting for an inference worker (all live processes).",
            multiprocess_mode="livesum",
            registry=r,
        )
        self.in_flight = Gauge(
            "mugpos_inference_in_flight",
            "Jobs queued or running (all live processes).",
            multiprocess_mode="livesum",
            registry=r,
        )
        self.rejected = Counter(
            "mugpos_inference_rejected_total",
            "Jobs refused because the queue was full.",
            registry=r,
        )
        self.cache = Counter(
            "mugpos_cache_requests_total", "Result cache lookups.", ["result"], registry=r
        )
        self.rate_limited = Counter(
            "mugpos_rate_limited_total",
            "Requests refused by the rate limiter.",
            ["backend"],
            registry=r,
        )
        self.redis_up = Gauge(
            "mugpos_redis_up",
            "1 when Redis answered last time (0 when it did not for any live process).",
            multiprocess_mode="livemin",
            registry=r,
        )
        self.model_info = Gauge(
            "mugpos_model_info",
            "The models being served (value 1; 0 for models a process served before).",
            ["role", "model", "version", "source"],
            multiprocess_mode="livemax",
            registry=r,
        )
        self.model_reloads = Counter(
            "mugpos_model_reloads_total", "Manifest reloads.", ["result"], registry=r
        )
        self.analyses_dropped = Counter(
            "mugpos_analyses_dropped_total",
            "Analyses not recorded (the writer queue was full).",
            registry=r,
        )
        self._served: list[tuple[str, str, str, str]] = []
        for result in ("hit", "miss"):
            self.cache.labels(result)  # present from the start, so rates are defined

    def serve_models(self, labels: list[tuple[str, str, str, str]]) -> None:
        """Mark these (role, model, version, source) as served, and only these. The old ones
        are set to 0 first: in multiprocess mode a series cannot be removed from the files."""
        for old in self._served:
            self.model_info.labels(*old).set(0)
        if self.multiprocess_dir is None:
            self.model_info.clear()
        for label in labels:
            self.model_info.labels(*label).set(1)
        self._served = list(labels)

    def render(self) -> bytes:
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()  # every process's files, read afresh per scrape
        MultiProcessCollector(registry, path=str(self.multiprocess_dir))
        return generate_latest(registry)
