"""Prometheus metrics, one registry per app (so tests can build several apps in one process).

Labels are bounded: routes are templates (``/v1/rules/{rule_id}``), never raw paths.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# Fine at the low end: a cache hit is about a millisecond, inference 10–30 ms.
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
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
        self.queue_depth = Gauge(
            "mugpos_inference_queue_depth", "Jobs waiting for an inference worker.", registry=r
        )
        self.in_flight = Gauge("mugpos_inference_in_flight", "Jobs queued or running.", registry=r)
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
        self.redis_up = Gauge("mugpos_redis_up", "1 when Redis answered last time.", registry=r)
        self.model_info = Gauge(
            "mugpos_model_info",
            "The models being served (value 1).",
            ["role", "model", "version", "source"],
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
        for result in ("hit", "miss"):
            self.cache.labels(result)  # present from the start, so rates are defined

    def render(self) -> bytes:
        return generate_latest(self.registry)
