"""POST /v1/positions?render=card: the analysis as a report card picture.

The analysis runs in the inference pool like any other; the card is drawn there too (local
renderer) or sent to Templated.io from a plain thread (an HTTP call should not hold an
inference worker), and Templated's picture is then fetched behind the SSRF guard and size
limit. The same analysis events as the JSON answer are emitted.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from mugpos.analysis import AnalysisOptions, analyze
from mugpos.cards import CardRenderer, LocalCardRenderer, RenderedCard, ReportCard, build_card
from mugpos.models.variant import DetectorVariant
from mugpos_serving.models import ModelBundle
from mugpos_serving.positioning import PositionService, build_result, decode_upload
from mugpos_serving.schemas.positions import PositionOptions
from mugpos_serving.services import Services
from mugpos_serving.urlfetch import UrlFetcher

TITLE = "Mug placement report"


@dataclass(frozen=True)
class Card:
    rendered: RenderedCard
    content: bytes
    answer: dict[str, Any]  # the position answer it summarises (for events)


class CardService:
    def __init__(self, renderer: CardRenderer, fetcher: UrlFetcher) -> None:
        self.renderer = renderer
        self.fetcher = fetcher

    async def card(
        self, services: Services, data: bytes, opts: PositionOptions, request_id: str
    ) -> Card:
        bundle = services.bundle()
        aopts, variant = await PositionService(services).analysis_options(opts, bundle)
        job = partial(self._analyse, services, data, aopts, bundle, variant, request_id)
        report, answer = await services.pool.run(job)
        if isinstance(self.renderer, LocalCardRenderer):
            rendered = await services.pool.run(partial(self.renderer.render, report))
        else:
            rendered = await asyncio.to_thread(self.renderer.render, report)
        content = rendered.content
        if content is None:
            assert rendered.url is not None
            content = await self.fetcher.fetch(rendered.url)
        return Card(rendered, content, answer)

    def _analyse(
        self,
        services: Services,
        data: bytes,
        aopts: AnalysisOptions,
        bundle: ModelBundle,
        variant: DetectorVariant,
        request_id: str,
    ) -> tuple[ReportCard, dict[str, Any]]:
        t0 = time.perf_counter()
        decoded = decode_upload(data, services.settings)
        result = analyze(decoded, detector=bundle.detector_for(variant), options=aopts)
        timings = {**result.timings_ms, "total": round((time.perf_counter() - t0) * 1e3, 3)}
        served = build_result(decoded, result, bundle, variant, None, timings, list(result.notes))
        answer = {"request_id": request_id, "cache": "off", **served.model_dump(mode="json")}
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        footer = f"{variant.key} {bundle.network.version} · {stamp} · request {request_id}"
        return build_card(decoded.pixels, result, title=TITLE, footer=footer), answer
