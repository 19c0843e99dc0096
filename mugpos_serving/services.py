"""Everything the routes use, built once per app at start-up and closed at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from mugpos.cache import MemoryCache, NullCache
from mugpos.docstore import DocumentStore, open_document_store
from mugpos.positioning.search import warm_search
from mugpos.rules.repository import RuleRepository
from mugpos.settings import Settings
from mugpos_serving.auth import TokenCodec
from mugpos_serving.cache import LocalCache, RedisServingCache, ServingCache
from mugpos_serving.errors import ServiceUnavailable
from mugpos_serving.index import IndexHolder
from mugpos_serving.metrics import Metrics
from mugpos_serving.models import ModelBundle, ModelRegistry
from mugpos_serving.ratelimit import RateLimiter
from mugpos_serving.recorder import AnalysisRecorder
from mugpos_serving.redislink import AsyncRedisLink
from mugpos_serving.rulesource import StoredRules
from mugpos_serving.urlfetch import UrlFetcher
from mugpos_serving.workers import InferencePool, usable_cores

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    metrics: Metrics
    codec: TokenCodec | None
    registry: ModelRegistry
    pool: InferencePool
    cache: ServingCache
    link: AsyncRedisLink | None
    limiter: RateLimiter
    store: DocumentStore | None
    rules: StoredRules | None
    index: IndexHolder
    recorder: AnalysisRecorder | None
    fetcher: UrlFetcher
    store_error: str | None = None
    # Identical computations in flight (single-flight): compute key -> the answer to come.
    flights: dict[str, asyncio.Future[Any]] = field(default_factory=dict)

    @property
    def cache_on(self) -> bool:
        return self.cache.enabled

    def bundle(self) -> ModelBundle:
        bundle = self.registry.current
        if bundle is None:
            raise ServiceUnavailable("models are not loaded yet", headers={"Retry-After": "5"})
        return bundle

    def rule_store(self) -> StoredRules:
        if self.rules is None:
            raise ServiceUnavailable(
                "the rule store is unavailable", details={"reason": self.store_error}
            )
        return self.rules


def pool_shape(settings: Settings) -> tuple[int, int]:
    """(worker threads, threads inside each model call), sized to the usable cores.

    One single-threaded model call per core gives the most throughput under load: several
    threads inside one call spend time waiting on each other when the cores are all busy.
    """
    cores = usable_cores()
    workers = settings.inference_workers or cores
    threads = settings.inference_threads or max(1, cores // workers)
    return workers, threads


def build_services(settings: Settings, codec: TokenCodec | None, metrics: Metrics) -> Services:
    """Load models and open backends (blocking: call from a thread at start-up)."""
    workers, threads = pool_shape(settings)
    registry = ModelRegistry(settings, num_threads=threads)
    registry.listeners.append(lambda result, bundle: _on_models(metrics, result, bundle))
    registry.load_initial()
    warm_search()  # the first planned answer would pay the compile (about 1 s) otherwise
    pool = InferencePool(workers, settings.inference_queue_size, metrics)
    # Each worker thread builds its own interpreter: do it now, not on the first requests.
    bundle = registry.current
    if bundle is not None:
        import numpy as np

        blank = np.zeros((64, 64, 3), np.uint8)
        pool.run_on_every_worker(lambda: bundle.detector.detect(blank))

    link = None
    if settings.redis_url is not None:
        link = AsyncRedisLink(
            settings.redis_url.get_secret_value(),
            timeout_s=settings.redis_timeout_s,
            slow_s=settings.redis_slow_ms / 1e3,
        )
    cache: ServingCache
    if not settings.cache_enabled:
        cache = LocalCache(NullCache())
    elif link is not None:
        cache = RedisServingCache(link, prefix=f"{settings.redis_key_prefix}cache:")
    else:
        cache = LocalCache(MemoryCache())
    limiter = RateLimiter(
        settings.rate_limit_per_minute, link, prefix=f"{settings.redis_key_prefix}rl:"
    )

    store, rules, recorder, store_error = None, None, None, None
    try:
        store = open_document_store(settings.document_store_location)
        rules = StoredRules(RuleRepository(store))
        if settings.record_analyses:
            recorder = AnalysisRecorder(
                open_document_store(settings.document_store_location), metrics
            )
    except Exception as exc:  # noqa: BLE001 - positioning works without stored rules
        store_error = f"{type(exc).__name__}: {exc}"
        log.warning("document store unavailable: %s", store_error)

    index = IndexHolder(settings.vector_index_location)
    index.open()
    fetcher = UrlFetcher(
        enabled=settings.url_fetch_enabled,
        max_bytes=min(settings.url_fetch_max_bytes, settings.max_image_bytes),
        timeout_s=settings.url_fetch_timeout_s,
    )
    return Services(
        settings,
        metrics,
        codec,
        registry,
        pool,
        cache,
        link,
        limiter,
        store,
        rules,
        index,
        recorder,
        fetcher,
        store_error,
    )


def _on_models(metrics: Metrics, result: str, bundle: ModelBundle | None) -> None:
    metrics.model_reloads.labels(result).inc()
    if bundle is None:
        return
    metrics.serve_models(
        [
            (role, model.id, model.version, bundle.source)
            for role, model in (("detector", bundle.detector), ("embedder", bundle.embedder))
        ]
    )


async def watch(services: Services) -> None:
    """Poll the manifest and the index in the background, for the life of the app."""
    interval = services.settings.manifest_poll_s
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(services.registry.poll)
            await asyncio.to_thread(services.index.refresh)
            if services.link is not None:
                services.metrics.redis_up.set(1 if services.link.up else 0)
        except Exception:
            log.exception("background poll failed")


async def open_links(services: Services) -> None:
    """What needs the event loop at start-up: a first Redis probe (sets the breaker's state)."""
    if services.link is not None:
        await services.link.ping()


async def close_links(services: Services) -> None:
    with contextlib.suppress(Exception):
        await services.limiter.close()
    with contextlib.suppress(Exception):
        await services.cache.close()
    if services.link is not None:
        with contextlib.suppress(Exception):
            await services.link.close()


def close_services(services: Services) -> None:
    services.pool.shutdown()
    if services.recorder is not None:
        services.recorder.close()
    with contextlib.suppress(Exception):
        services.index.close()
    if services.store is not None:
        services.store.close()
