"""Wiring of the integrations into the API app: events (bus, log, live stream), webhooks
(subscriptions, the dispatcher), report cards and MCP at ``/mcp``.

``install`` (from ``create_app``) adds the routers, the ``/mcp`` route and the error-event tap;
``running`` (in the app's lifespan, after the core services) opens their own document store
connection, starts the event hub and the dispatcher, and runs the MCP session manager. The
engine parts (events, webhooks, cards) know nothing of FastAPI; this module is the glue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from starlette.routing import Route
from starlette.types import Scope

from mugpos.cards import renderer_from_settings
from mugpos.docstore import DocumentStore, open_document_store
from mugpos.events import Event, EventLog
from mugpos.settings import Settings
from mugpos.webhooks import Dispatcher, Outbox, RetryPolicy, SubscriptionStore
from mugpos_serving.auth import authenticate
from mugpos_serving.cardservice import CardService
from mugpos_serving.errors import ApiError, ServiceUnavailable, UrlFetchFailed, UrlNotAllowed
from mugpos_serving.eventhub import EventHub
from mugpos_serving.eventtap import ErrorEvents
from mugpos_serving.models import ModelBundle
from mugpos_serving.outbound import GuardedTransport, check_target, guard
from mugpos_serving.services import Services
from mugpos_serving.urlfetch import UrlFetcher

log = logging.getLogger(__name__)


@dataclass
class Integrations:
    settings: Settings
    services: Services
    store: DocumentStore | None
    store_error: str | None
    hub: EventHub
    cards: CardService
    targets: UrlFetcher
    transport: GuardedTransport
    dispatcher: Dispatcher | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    # -- for the routes ---------------------------------------------------------------------

    def webhooks(self) -> tuple[SubscriptionStore, Outbox]:
        store = self._store()
        return SubscriptionStore(store, self.settings.webhook_max_subscriptions), Outbox(store)

    def event_log(self) -> EventLog:
        self._store()  # 503 without a store (then there is no log either)
        assert self.hub.log is not None
        return self.hub.log

    def _store(self) -> DocumentStore:
        if self.store is None:
            raise ServiceUnavailable(
                "webhooks need the document store, which is unavailable",
                details={"reason": self.store_error},
            )
        return self.store

    async def check_target(self, url: str) -> None:
        """Refuse a webhook URL the SSRF guard refuses, or whose host does not resolve (422
        with the reason: the caller must change the URL)."""
        try:
            await check_target(self.targets, url)
        except UrlFetchFailed as exc:
            raise UrlNotAllowed(
                f"the webhook URL's host does not resolve: {exc.message}", details=exc.details
            ) from None

    async def subscriptions_changed(self) -> None:
        """Subscriptions changed: log the types they want from the next event on."""
        self.hub.invalidate()
        await self.hub.refresh_wanted()

    def subject_of(self, scope: Scope) -> str | None:
        principal = scope.get("state", {}).get("principal")
        if principal is not None:
            return str(principal.subject)
        header = None
        for key, value in scope.get("headers", ()):
            if key == b"authorization":
                header = value.decode("latin-1")
        try:
            return authenticate(self.services.codec, header).subject if header else None
        except ApiError:
            return None

    def describe(self) -> dict[str, Any]:
        d = self.dispatcher
        return {
            "events": self.hub.describe(),
            "dispatcher": None
            if d is None
            else {"owner": d.owner, **{k: v for k, v in vars(d.stats).items()}},
            "document_store": "ok" if self.store is not None else self.store_error,
        }

    # -- model swaps ------------------------------------------------------------------------

    def on_models(self, result: str, bundle: ModelBundle | None) -> None:
        """Registry listener (runs on the poll thread): model_updated, or an alert when a
        new manifest was refused."""
        registry = self.services.registry
        if result == "loaded" and bundle is not None:
            d, e = bundle.network, bundle.embedder
            event = Event(
                type="model_updated",
                source="api",
                data={
                    "reason": "served_models_changed",
                    "source": bundle.source,
                    "manifest_fingerprint": bundle.fingerprint,
                    "variant": bundle.served.key,
                    "champion": bundle.served.champion.version if bundle.served.champion else None,
                    "detector": {"id": d.id, "version": d.version},
                    "embedder": {"id": e.id, "version": e.version},
                },
            )
        else:
            event = Event(
                type="system_alert",
                source="api",
                data={
                    "kind": "manifest_rejected",
                    "severity": "error",
                    "message": registry.message,
                    "problems": registry.describe().get("problems", []),
                },
            )
        self.hub.emit([event])


def get_integrations(request: Request) -> Integrations:
    integ = getattr(request.app.state, "integrations", None)
    if integ is None:
        raise ServiceUnavailable("the server is starting", headers={"Retry-After": "2"})
    return integ  # type: ignore[no-any-return]


def hub_of(request: Request) -> EventHub | None:
    integ = getattr(request.app.state, "integrations", None)
    return integ.hub if integ is not None else None


def install(app: FastAPI, settings: Settings) -> None:
    """Routers, ``/mcp`` and the error-event tap (call after the core middleware)."""
    from mugpos_serving.routes import events, models, webhooks

    for router in (webhooks.router, events.router, models.router):
        app.include_router(router)
    if settings.mcp_enabled:
        from mugpos_serving.mcp.http import PATH, McpEndpoint

        endpoint = McpEndpoint(app, settings)
        app.router.routes.append(Route(PATH, endpoint=endpoint, include_in_schema=False))
        app.state.mcp = endpoint
    app.add_middleware(ErrorEvents)


def build(settings: Settings, services: Services) -> Integrations:
    """Blocking (call from a thread): the store connection, the renderer, the guards."""
    store, store_error = None, None
    try:
        store = open_document_store(settings.document_store_location)
    except Exception as exc:  # noqa: BLE001 - the API serves without webhooks
        store_error = f"{type(exc).__name__}: {exc}"
        log.warning("integrations: document store unavailable: %s", store_error)
    renderer = renderer_from_settings(settings)  # ValueError: refuse to start misconfigured
    card_fetcher = guard(
        settings, max_bytes=settings.max_image_bytes, timeout_s=settings.templated_timeout_s
    )
    return Integrations(
        settings=settings,
        services=services,
        store=store,
        store_error=store_error,
        hub=EventHub(settings, store),
        cards=CardService(renderer, card_fetcher),
        targets=guard(settings, max_bytes=1, timeout_s=settings.webhook_timeout_s),
        transport=GuardedTransport(settings),
    )


@contextlib.asynccontextmanager
async def running(app: FastAPI, services: Services) -> AsyncIterator[Integrations]:
    settings = services.settings
    integ = await asyncio.to_thread(build, settings, services)
    await integ.hub.start()
    services.registry.listeners.append(integ.on_models)
    if settings.webhook_dispatch and integ.store is not None:
        integ.dispatcher = Dispatcher(
            integ.store,
            integ.transport,
            RetryPolicy(
                max_attempts=settings.webhook_max_attempts,
                base_s=settings.webhook_backoff_base_s,
                max_s=settings.webhook_backoff_max_s,
            ),
            timeout_s=settings.webhook_timeout_s,
            poll_s=settings.webhook_poll_s,
            lease_s=settings.webhook_lease_s,
            retention=timedelta(days=settings.events_retention_days),
        )
        integ._task = asyncio.create_task(integ.dispatcher.run(integ._stop), name="mugpos-webhooks")
    app.state.integrations = integ
    mcp = getattr(app.state, "mcp", None)
    try:
        async with mcp.manager.run() if mcp is not None else contextlib.nullcontext():
            yield integ
    finally:
        app.state.integrations = None
        with contextlib.suppress(ValueError):
            services.registry.listeners.remove(integ.on_models)
        integ._stop.set()
        if integ._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await integ._task
        await integ.hub.stop()
        await integ.transport.aclose()
        if mcp is not None:
            await mcp.backend.aclose()
        if integ.store is not None:
            await asyncio.to_thread(integ.store.close)
