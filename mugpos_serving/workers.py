"""The inference pool: CPU-bound work runs on a bounded set of threads, never on the event loop.

LiteRT and ONNX Runtime release the GIL while they compute, so threads give real parallelism.
The pool admits at most ``workers + queue_size`` jobs; past that it refuses at once with 503 and
``Retry-After`` instead of letting latency grow without bound. A job's slot is released when
its thread finishes, not when its caller gives up, so a timed-out job still counts until it
really stops using a core.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from mugpos_serving.errors import Overloaded
from mugpos_serving.metrics import Metrics

T = TypeVar("T")


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class InferencePool:
    def __init__(self, workers: int, queue_size: int, metrics: Metrics | None = None) -> None:
        self.workers = workers
        self.queue_size = queue_size
        self.capacity = workers + queue_size
        self.metrics = metrics
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="mugpos-infer")
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0
        self._service_s = 0.02  # moving average of job time, for Retry-After

    @property
    def admitted(self) -> int:
        return self._admitted

    @property
    def queued(self) -> int:
        return max(0, self._admitted - self._running)

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` on a worker thread; raises :class:`Overloaded` when the queue is full."""
        with self._lock:
            if self._admitted >= self.capacity:
                full = True
            else:
                full = False
                self._admitted += 1
        if full:
            if self.metrics:
                self.metrics.rejected.inc()
            raise Overloaded(
                "the server is at capacity: retry shortly",
                details={"capacity": self.capacity},
                headers={"Retry-After": str(self.retry_after_s())},
            )
        self._gauges()
        enqueued = time.perf_counter()
        future = self._executor.submit(self._job, fn, enqueued)
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _job(self, fn: Callable[[], T], enqueued: float) -> T:
        started = time.perf_counter()
        with self._lock:
            self._running += 1
        self._gauges()
        if self.metrics:
            self.metrics.queue_wait.observe(started - enqueued)
        try:
            return fn()
        finally:
            spent = time.perf_counter() - started
            with self._lock:
                self._running -= 1
                self._service_s = 0.9 * self._service_s + 0.1 * spent

    def _release(self, _: Future[object]) -> None:
        with self._lock:
            self._admitted -= 1
        self._gauges()

    def _gauges(self) -> None:
        if self.metrics:
            self.metrics.in_flight.set(self._admitted)
            self.metrics.queue_depth.set(self.queued)

    def retry_after_s(self) -> int:
        """Whole seconds until the current queue should have drained (at least 1)."""
        return max(1, math.ceil(self._admitted * self._service_s / self.workers))

    def run_on_every_worker(self, fn: Callable[[], object], timeout_s: float = 60.0) -> None:
        """Run ``fn`` once on each worker thread (warm-up of thread-local model state).

        A barrier holds each call until all have started, so no thread takes two of them.
        """
        barrier = threading.Barrier(self.workers, timeout=timeout_s)

        def task() -> None:
            barrier.wait()
            fn()

        futures = [self._executor.submit(task) for _ in range(self.workers)]
        for f in futures:
            f.result(timeout=timeout_s)

    def describe(self) -> dict[str, int]:
        return {
            "workers": self.workers,
            "capacity": self.capacity,
            "in_flight": self._admitted,
            "running": self._running,
            "queued": self.queued,
        }

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
