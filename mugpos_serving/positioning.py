"""The position request path: rules → cache → worker pool (decode, analyse, similar) → answer.

The hot path is kept lean on purpose (see docs/benchmarks.md): the enabled stored rules come
from a one-second memory, a cache hit never touches the worker pool, results are serialised
once by pydantic's Rust core into bytes, and the per-request fields (request ids, cache state)
are spliced in front of those bytes instead of re-encoding the whole answer. Recording the
analysis for feedback happens on a background thread.

Cache entries are per principal: the key holds the image, the code and manifest versions, the
models, the rule set, the options and the caller, so one user's answer never reveals (by
``cache: "hit"`` or by its speed) that another user sent the same photo. Identical requests in
flight at once are computed once (single flight, across callers: the computation does not
depend on who asked); each caller then caches and records its own copy.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

import mugpos
from mugpos.analysis import AnalysisOptions, AnalysisResult, analyze
from mugpos.errors import MugposError
from mugpos.images import DecodedImage, decode_image
from mugpos.models.variant import DetectorVariant
from mugpos.positioning.safety import PlanBudget
from mugpos.rules.schema import Rule, rules_hash
from mugpos.settings import Settings
from mugpos.vectorindex import SearchFilter, VectorIndexError
from mugpos_serving.errors import ServiceUnavailable, error_body, status_for
from mugpos_serving.models import ModelBundle
from mugpos_serving.recorder import Recorded
from mugpos_serving.schemas.common import ChampionRef, ModelRef, ServedModels, VariantRef
from mugpos_serving.schemas.positions import (
    Clearances,
    ImageMeta,
    MugPlacement,
    MugResult,
    PositionOptions,
    PositionResult,
    SceneResult,
    SimilarScene,
)
from mugpos_serving.services import Services

log = logging.getLogger(__name__)
_SERIALIZE = PositionResult.__pydantic_serializer__.to_json
# Part of every cache key: bump the second part when a change alters what is cached.
CODE_VERSION = f"{mugpos.__version__}.1"
_HASH_INLINE_BELOW = 1 << 20  # hashing more than this goes to a thread (about 1 ms per MB)


class PositionService:
    def __init__(self, services: Services) -> None:
        self.services = services

    # -- rules and options -----------------------------------------------------------------------

    async def rules(
        self, inline: list[Rule] | None, rule_ids: list[str] | None
    ) -> tuple[Rule, ...]:
        if inline is not None:
            return tuple(inline)
        source = self.services.rules
        if source is None:
            if rule_ids:
                self.services.rule_store()  # raises 503: the ids cannot be looked up
            return ()
        if rule_ids is not None:
            return await run_in_threadpool(source.by_ids, rule_ids)
        cached = source.fresh_enabled()
        return cached if cached is not None else await run_in_threadpool(source.load_enabled)

    async def analysis_options(
        self, opts: PositionOptions, bundle: ModelBundle
    ) -> tuple[AnalysisOptions, DetectorVariant]:
        """The engine's options and the detector variant this request runs: the served one
        (the champion's threshold and tiling) unless the request overrides either."""
        rules = await self.rules(opts.rules, opts.rule_ids)
        s = self.services.settings
        variant = bundle.variant_for(opts.score_threshold, opts.tiling)
        try:
            return AnalysisOptions(
                rules=rules,
                target=opts.target,
                scale=opts.scale,
                grid=opts.grid,
                score_threshold=variant.threshold,
                safety=opts.safety,
                budget=PlanBudget(
                    time_s=s.plan_time_budget_s, max_candidates=s.plan_max_candidates
                ),
            ), variant
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("options", *e.get("loc", ()))} for e in exc.errors()]
            ) from None

    # -- one image -------------------------------------------------------------------------------

    async def position(self, data: bytes, opts: PositionOptions, ids: Ids, subject: str) -> bytes:
        """The JSON answer (a PositionResponse) for one image, as bytes."""
        s = self.services
        bundle = s.bundle()
        aopts, variant = await self.analysis_options(opts, bundle)
        if len(data) < _HASH_INLINE_BELOW:
            sha = hashlib.sha256(data).hexdigest()
        else:
            sha = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        index_version = s.index.version if opts.similar else None
        compute = cache_key(sha, bundle, aopts, variant, opts.similar, index_version)
        key = principal_key(compute, subject)
        if s.cache_on:
            cached = await s.cache.get(key)
            if cached is not None:
                s.metrics.cache.labels("hit").inc()
                self._record(ids, subject, "hit", key, sha, bundle, aopts, None)
                return splice(ids, "hit", cached)
            s.metrics.cache.labels("miss").inc()
        job = partial(self._compute, data, aopts, bundle, variant, opts.similar)
        body, cacheable = await self._single_flight(compute, job)
        if s.cache_on and cacheable:
            await s.cache.set(key, body, s.settings.cache_ttl_s)
        state = "miss" if s.cache_on else "off"
        self._record(ids, subject, state, key, sha, bundle, aopts, body)
        return splice(ids, state, body)

    async def _single_flight(
        self, compute_key: str, job: Callable[[], tuple[bytes, bool]]
    ) -> tuple[bytes, bool]:
        """``job`` on the pool, shared by every identical request that arrives meanwhile.

        The computation runs as its own task: a caller that gives up (timeout, disconnect)
        does not cancel it for the others waiting on it.
        """
        flights = self.services.flights
        task = flights.get(compute_key)
        if task is None:
            task = asyncio.ensure_future(self.services.pool.run(job))
            flights[compute_key] = task
            task.add_done_callback(partial(_land, flights, compute_key))
        return await asyncio.shield(task)

    async def picture(self, data: bytes, opts: PositionOptions) -> bytes:
        """The analysis drawn on the photo (PNG): zones, clearances, violations, moves."""
        bundle = self.services.bundle()
        aopts, variant = await self.analysis_options(opts, bundle)
        return await self.services.pool.run(partial(self._draw, data, aopts, bundle, variant))

    def _draw(
        self, data: bytes, aopts: AnalysisOptions, bundle: ModelBundle, variant: DetectorVariant
    ) -> bytes:
        from mugpos.render_analysis import draw_analysis

        decoded = decode_upload(data, self.services.settings)
        result = analyze(decoded, detector=bundle.detector_for(variant), options=aopts)
        buf = io.BytesIO()
        draw_analysis(decoded.pixels, result).save(buf, format="PNG")
        return buf.getvalue()

    def _compute(
        self,
        data: bytes,
        aopts: AnalysisOptions,
        bundle: ModelBundle,
        variant: DetectorVariant,
        k: int,
    ) -> tuple[bytes, bool]:
        """Runs on a worker thread: decode, analyse, find similar scenes, serialise. Also says
        whether the answer may be cached (not when a requested extra is missing)."""
        s = self.services
        t0 = time.perf_counter()
        decoded = decode_upload(data, s.settings)
        decode_ms = (time.perf_counter() - t0) * 1e3
        result = analyze(decoded, detector=bundle.detector_for(variant), options=aopts)
        timings = {"decode": round(decode_ms, 3)}
        # The engine's own "decode" is ~0 here (it gets decoded pixels); its "total" is not ours.
        timings.update(
            (stage, ms)
            for stage, ms in result.timings_ms.items()
            if stage not in {"decode", "total"}
        )
        notes = list(result.notes)
        similar = None
        if k:
            t1 = time.perf_counter()
            similar = self._similar(decoded, result, bundle, k, notes)
            timings["similar"] = round((time.perf_counter() - t1) * 1e3, 3)
        timings["total"] = round((time.perf_counter() - t0) * 1e3, 3)
        model = bundle.network.id
        s.metrics.inference.labels(model, "detect").observe(result.timings_ms["detect"] / 1e3)
        s.metrics.inference.labels(model, "analyze").observe(result.timings_ms["total"] / 1e3)
        body = _SERIALIZE(build_result(decoded, result, bundle, variant, similar, timings, notes))
        # Never cache a missing extra, nor a plan the work budget cut short (timing-dependent).
        return body, not (k and similar is None) and not result.partial

    def _similar(
        self,
        decoded: DecodedImage,
        result: AnalysisResult,
        bundle: ModelBundle,
        k: int,
        notes: list[str],
    ) -> list[SimilarScene] | None:
        """Nearest corpus scenes; ``None`` (with a note) when the index is unavailable or the
        search fails: similar scenes are an extra, the positioning answer stands without them
        (and is then not cached)."""
        try:
            index = self.services.index.get()
        except ServiceUnavailable as exc:
            notes.append(f"similar scenes unavailable: {exc.details.get('reason', exc.message)}")
            return None
        if bundle.embedder is bundle.network and result.embedding is not None:
            vector = np.asarray(result.embedding, dtype=np.float32)  # same forward pass
        else:
            vector = bundle.embedder.embed_images([decoded.pixels])[0]
        try:
            hits = index.search(vector, k, SearchFilter(model_id=bundle.embedder.id))
        except VectorIndexError as exc:
            log.warning("similar scenes failed: %s", exc)
            status = exc.details.get("status")
            why = f"the vector index is not queryable (status {status})" if status else exc.code
            notes.append(f"similar scenes unavailable: {why}")
            return None
        return [similar_scene(h) for h in hits]

    def _record(
        self,
        ids: Ids,
        subject: str,
        cache: str,
        key: str,
        sha: str,
        bundle: ModelBundle,
        aopts: AnalysisOptions,
        body: bytes | None,
    ) -> None:
        recorder = self.services.recorder
        if recorder is None:
            return
        detector = bundle.network
        recorder.record(
            Recorded(
                ids.request_id,
                ids.client_request_id,
                subject,
                cache,
                key,
                sha,
                detector.id,
                detector.version,
                rules_hash(aopts.rules),
                body,
            )
        )

    # -- a batch ---------------------------------------------------------------------------------

    async def item(
        self,
        index: int,
        data: bytes | MugposError,
        opts: PositionOptions,
        ids: Ids,
        subject: str,
    ) -> tuple[bool, bytes]:
        """One batch entry as JSON bytes: the answer, or the error shape for this image only."""
        item = Ids(f"{ids.request_id}-{index}", ids.client_request_id)
        head = f'{{"index":{index},"request_id":"{item.request_id}",'.encode()
        try:
            if isinstance(data, MugposError):
                raise data
            body = await self.position(data, opts, item, subject)
            return True, head + b'"ok":true,"result":' + body + b"}"
        except MugposError as exc:
            error = error_body(exc.code, exc.message, _plain(exc.details))
            error["error"]["details"]["status"] = status_for(exc)
        except RequestValidationError as exc:
            msgs = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
            error = error_body("validation_error", "invalid options", {"errors": msgs})
        return False, head + b'"ok":false,"error":' + json.dumps(error["error"]).encode() + b"}"


def decode_upload(data: bytes, settings: Settings) -> DecodedImage:
    """A request's image under the server's byte, pixel and decode-memory limits."""
    return decode_image(
        data,
        max_bytes=settings.max_image_bytes,
        max_pixels=settings.max_image_pixels,
        max_decode_bytes=settings.max_decode_bytes,
    )


@dataclass(frozen=True)
class Ids:
    """The server-made id of a request and the client's correlation id (if it sent one)."""

    request_id: str
    client_request_id: str | None = None


def _land(flights: dict[str, Any], key: str, task: asyncio.Future[Any]) -> None:
    """A flight is over: forget it (and read its error, so none goes unreported)."""
    if flights.get(key) is task:
        del flights[key]
    if not task.cancelled():
        task.exception()


def principal_key(compute_key: str, subject: str) -> str:
    """The cache entry of one caller for a computation (see the module docstring)."""
    return f"{compute_key}:{_short('principal:' + subject)}"


def cache_key(
    sha: str,
    bundle: ModelBundle,
    aopts: AnalysisOptions,
    variant: DetectorVariant,
    k: int,
    index_version: str | None,
) -> str:
    """code version : image sha256 : models, versions, manifest : rule set : options — each
    part hashed short. What is computed from these is the same for every caller.

    The rule part hashes whole rules (ids, names, versions too), not just their semantics:
    those appear in the answer, so two rule sets that check the same thing under different
    names must not share an entry. The code version changes the key when a release changes
    the answer's content or shape; the manifest fingerprint when a served file does.
    """
    rules = [r.model_dump(mode="json") for r in sorted(aopts.rules, key=lambda r: r.id)]
    options = {
        "target": aopts.target.model_dump(mode="json"),
        "scale": aopts.scale.model_dump(mode="json") if aopts.scale else None,
        "grid": aopts.grid.model_dump(mode="json"),
        "threshold": aopts.score_threshold,
        "tiling": variant.tiling_config.model_dump(mode="json"),
        "safety": aopts.safety.model_dump(mode="json"),
        "similar": k,
        "index": index_version,
    }
    models = f"{bundle.cache_tag}|{bundle.fingerprint}"
    return ":".join(["pos", CODE_VERSION, sha, _short(models), _short(rules), _short(options)])


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def splice(ids: Ids, cache: str, body: bytes) -> bytes:
    """``body`` (a JSON object) with the request ids and ``cache`` in front, no re-encoding.

    Request ids are server-made hex, client ids are checked against ``[A-Za-z0-9._-]`` by the
    middleware, so neither needs escaping.
    """
    client = b"null" if ids.client_request_id is None else b'"%s"' % ids.client_request_id.encode()
    return b'{"request_id":"%s","client_request_id":%s,"cache":"%s",%s' % (
        ids.request_id.encode(),
        client,
        cache.encode(),
        body[1:],
    )


def _plain(details: dict[str, object]) -> dict[str, Any]:
    return json.loads(json.dumps(details, default=str))


def variant_ref(bundle: ModelBundle, variant: DetectorVariant | None = None) -> VariantRef:
    """What ran (``variant``, default: the served one), and what is served."""
    served = bundle.served
    ran = variant or bundle.variant
    champ = served.champion
    return VariantRef(
        key=ran.key,
        score_threshold=ran.threshold,
        tiling=ran.tiling,
        tiling_config=(
            served.tiling_config if ran.tiling == served.tiling else ran.tiling_config
        ).model_dump(mode="json"),
        served=served.key,
        source="request" if ran != bundle.variant else served.source,
        champion=ChampionRef(registered_model=champ.registered_model, version=champ.version)
        if champ
        else None,
    )


def served_models(bundle: ModelBundle, variant: DetectorVariant | None = None) -> ServedModels:
    d, e = bundle.network, bundle.embedder
    return ServedModels(
        detector=ModelRef(id=d.id, version=d.version),
        embedder=ModelRef(id=e.id, version=e.version),
        variant=variant_ref(bundle, variant),
        source=bundle.source,
        manifest_fingerprint=bundle.fingerprint,
    )


def similar_scene(hit: Any) -> SimilarScene:
    return SimilarScene(
        sha256=hit.sha256,
        score=hit.score,
        shard=hit.shard,
        labels=list(hit.labels),
        has_mug=hit.has_mug,
        payload=hit.payload,
    )


def build_result(
    decoded: DecodedImage,
    result: AnalysisResult,
    bundle: ModelBundle,
    variant: DetectorVariant,
    similar: list[SimilarScene] | None,
    timings: dict[str, float],
    notes: list[str],
) -> PositionResult:
    layout = result.layout
    per_mug: dict[int | None, list] = defaultdict(list)
    for r in result.rule_results:
        per_mug[r.mug].append(r)
    suggestions = {s.mug: s for s in result.suggestions}
    mugs = [
        MugResult(
            index=m.index,
            detection=m.detection,
            confidence=m.confidence,
            box=m.box,
            position=MugPlacement(
                center=m.center,
                center_image=m.center_image,
                center_work_area=m.center_work_area,
                center_mm=m.center_mm,
                width_mm=m.width_mm,
                height_mm=m.height_mm,
                in_work_area=m.in_work_area,
            ),
            zone=m.zone,
            zone_cell=m.zone_cell,
            offset=m.target_offset,
            clearances=Clearances(edges=m.edges, objects=m.objects, mugs=m.mugs),
            rule_results=per_mug.get(m.index, []),
            suggestion=suggestions.get(m.index),
            score=result.scores.mugs[m.index],
        )
        for m in layout.mugs
    ]
    return PositionResult(
        image=ImageMeta(
            sha256=decoded.sha256, width=decoded.width, height=decoded.height, format=decoded.format
        ),
        models=served_models(bundle, variant),
        detections=result.detections,
        mugs=mugs,
        scene=SceneResult(
            score=result.scores.scene,
            score_reason=result.scores.reason,
            partial=result.partial,
            work_area=layout.work_area,
            scale=layout.scale,
            grid=layout.grid,
            target=layout.target,
            target_points=layout.target_points,
            groups=layout.groups,
            rules_hash=result.rules_hash,
            rule_results=per_mug.get(None, []),
        ),
        similar=similar,
        timings_ms=timings,
        notes=notes,
    )
