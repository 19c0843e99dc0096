"""The model registry: which detector and embedder serve requests, from the model manifest.

The Dagster model assets write ``<home>/models/manifest.json``. The registry loads the models it
names (after checking every file's sha256), then polls the file cheaply (a ``stat``) and, when
its fingerprint changes, loads the new models beside the old ones and swaps one reference.
Requests take a :class:`ModelBundle` once at their start and keep it, so in-flight requests
finish on the models they began with and nothing is dropped. A manifest that fails to verify
or load is rejected and the current models stay; a rejected manifest is tried again on a
backoff (from ``MUGPOS_MANIFEST_POLL_S`` doubling to ``RETRY_MAX_S``), so restoring a missing
file recovers without a restart or a touch, and ``/readyz`` says when the next try is. With no
manifest, the offline default model serves and ``/readyz`` says so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mugpos.manifest import (
    MANIFEST_NAME,
    ModelManifest,
    ServedVariant,
    read_manifest,
    verify_manifest,
)
from mugpos.models.base import Detector, Embedder
from mugpos.models.catalog import get_spec
from mugpos.models.loader import load_detector, load_embedder
from mugpos.models.store import ModelStore
from mugpos.models.tiling import TiledDetector
from mugpos.models.variant import DetectorVariant, configured_variant
from mugpos.settings import Settings

log = logging.getLogger(__name__)

Source = Literal["manifest", "offline_default"]
RegistryState = Literal["loading", "ok", "offline_default", "manifest_rejected", "unavailable"]
RETRY_MAX_S = 60.0


@dataclass(frozen=True)
class ModelBundle:
    """Everything one request needs from the models; immutable, swapped as a whole.

    ``network`` is the loaded detector; ``detector`` is it as the served variant runs it (the
    champion's tiling). A request may ask for another threshold or tiling of the same network:
    :meth:`variant_for` and :meth:`detector_for` give it, wrappers cached per tiling.
    """

    network: Detector
    embedder: Embedder
    source: Source
    fingerprint: str | None
    loaded_at: float
    served: ServedVariant
    _wrapped: dict[str, Detector] = field(default_factory=dict, compare=False, repr=False)

    @property
    def variant(self) -> DetectorVariant:
        return self.served.variant

    @property
    def detector(self) -> Detector:
        return self.detector_for(self.variant)

    def variant_for(self, threshold: float | None, tiling: str | None) -> DetectorVariant:
        v = self.variant
        return DetectorVariant(
            v.model_id,
            v.threshold if threshold is None else threshold,
            v.tiling if tiling is None else tiling,
        )

    def detector_for(self, variant: DetectorVariant) -> Detector:
        """The network as ``variant`` tiles it. The served tiling uses the settings the manifest
        recorded (what was evaluated and gated), not whatever the preset says in this build."""
        found = self._wrapped.get(variant.tiling)
        if found is None:  # a race only builds the same cheap wrapper twice
            cfg = (
                self.served.tiling_config
                if variant.tiling == self.served.tiling
                else variant.tiling_config
            )
            found = self._wrapped[variant.tiling] = (
                self.network if cfg.mode == "off" else TiledDetector(self.network, cfg)
            )
        return found

    @property
    def cache_tag(self) -> str:
        """What a cached result depends on: the served models and their versions."""
        d, e = self.network, self.embedder
        return f"{d.id}@{d.version}|{e.id}@{e.version}"


def _served_variant(manifest: ModelManifest | None, settings: Settings) -> ServedVariant:
    """The manifest's served variant (the champion); the configured one for the offline default
    or a manifest written before variants existed."""
    if manifest is not None and manifest.served is not None:
        return manifest.served
    variant = configured_variant(settings)
    if manifest is not None and manifest.detector != variant.model_id:
        variant = DetectorVariant(manifest.detector, variant.threshold, variant.tiling)
    return ServedVariant.of(variant, "configured")


@dataclass
class _Seen:
    """The manifest file as last examined (stat signature and the fingerprint it held)."""

    signature: tuple[int, int, int] | None = None
    fingerprint: str | None = None
    problems: list[str] = field(default_factory=list)
    attempts: int = 0  # consecutive rejections of this manifest
    retry_at: float = 0.0  # monotonic time of the next try while rejected


class ModelRegistry:
    def __init__(self, settings: Settings, *, num_threads: int = 1) -> None:
        self.settings = settings
        self.num_threads = num_threads
        self.manifest_path = settings.model_cache_dir / MANIFEST_NAME
        self.current: ModelBundle | None = None
        self.state: RegistryState = "loading"
        self.message = "loading models"
        self._seen = _Seen()
        self._lock = threading.Lock()  # one load at a time
        # Called with ("loaded", bundle) or ("rejected", None): metrics and logs hook in here.
        self.listeners: list[Callable[[str, ModelBundle | None], None]] = []

    # -- loading ---------------------------------------------------------------------------------

    def load_initial(self) -> ModelBundle:
        """Manifest models if a sound manifest exists, else the offline default."""
        if self.manifest_path.is_file() and self.poll():
            assert self.current is not None
            return self.current
        bundle = self._load_default()
        if self._seen.problems:
            self.state = "manifest_rejected"
            self.message = (
                "manifest rejected, serving the offline default (tried again on a backoff): "
                + "; ".join(self._seen.problems)
            )
        else:
            self.state = "offline_default"
            self.message = (
                f"no model manifest at {self.manifest_path}: serving the offline default "
                f"model {bundle.detector.id}"
            )
        self._swap(bundle)
        return bundle

    def _load_default(self) -> ModelBundle:
        served = _served_variant(None, self.settings)
        detector = load_detector(
            served.model_id, settings=self.settings, num_threads=self.num_threads
        )
        embedder = self._embedder_for(detector, self.settings.embedder, None)
        return ModelBundle(detector, embedder, "offline_default", None, time.time(), served)

    def _embedder_for(
        self, detector: Detector, embedder_id: str, store: ModelStore | None
    ) -> Embedder:
        # The SSD is both: reuse the loaded network instead of a second copy.
        if embedder_id == detector.id and isinstance(detector, Embedder):
            return detector
        return load_embedder(embedder_id, store=store, settings=self.settings)

    def _load_manifest(self, manifest: ModelManifest) -> ModelBundle:
        problems = verify_manifest(self.manifest_path)
        root = self.manifest_path.parent
        for model_id in {manifest.detector, manifest.embedder}:
            entry = manifest.models.get(model_id)
            if entry is None:
                problems.append(f"{model_id}: served but not described in the manifest")
                continue
            spec = get_spec(model_id)
            if entry.version != spec.version:
                problems.append(
                    f"{model_id}: manifest version {entry.version} is not this build's "
                    f"{spec.version}"
                )
            store = ModelStore(root, offline=True, read_only=True)
            for name, f in entry.files.items():
                pinned = spec.file(name)
                expected = store.cache_path(spec, pinned)
                if (root / f.path).resolve() != expected.resolve():
                    problems.append(f"{model_id}/{name}: {f.path} is not at {expected}")
                if f.sha256 != pinned.sha256:
                    problems.append(
                        f"{model_id}/{name}: manifest sha256 {f.sha256} is not the pinned "
                        f"{pinned.sha256}"
                    )
        if problems:
            raise ManifestRejected(problems)
        # Verified files only: never download, replace or delete anything from the API.
        store = ModelStore(root, offline=True, read_only=True)
        detector = load_detector(
            manifest.detector, store=store, settings=self.settings, num_threads=self.num_threads
        )
        embedder = self._embedder_for(detector, manifest.embedder, store)
        served = _served_variant(manifest, self.settings)
        bundle = ModelBundle(
            detector, embedder, "manifest", manifest.fingerprint, time.time(), served
        )
        # Prove the new network runs, as served (tiled), before any request can reach it.
        bundle.detector.detect(np.zeros((64, 64, 3), np.uint8))
        return bundle

    # -- watching --------------------------------------------------------------------------------

    def poll(self) -> bool:
        """Check the manifest; load and swap when its fingerprint changed. True on a swap.

        Cheap when nothing changed: one ``stat``. A rejected manifest is tried again once its
        backoff has passed, even when the file itself did not change (a missing model file may
        have been restored).
        """
        with self._lock:
            try:
                st = self.manifest_path.stat()
            except FileNotFoundError:
                return False
            signature = (st.st_mtime_ns, st.st_size, st.st_ino)
            seen = self._seen
            if signature == seen.signature and (
                not seen.problems or time.monotonic() < seen.retry_at
            ):
                return False
            try:
                manifest = read_manifest(self.manifest_path)
            except Exception as exc:  # noqa: BLE001 - a half-written or foreign file: try again
                self._reject(signature, None, [f"unreadable manifest: {exc}"])
                return False
            fingerprint = manifest.fingerprint
            current = self.current
            if current is not None and current.fingerprint == fingerprint:
                # Rewritten with the content being served (or back to it after a rejection).
                self._seen = _Seen(signature, fingerprint)
                self.state, self.message = "ok", f"serving manifest {fingerprint}"
                return False
            try:
                bundle = self._load_manifest(manifest)
            except ManifestRejected as exc:
                self._reject(signature, fingerprint, exc.problems)
                return False
            except Exception as exc:
                log.exception("loading models from %s failed", self.manifest_path)
                self._reject(signature, fingerprint, [f"{type(exc).__name__}: {exc}"])
                return False
            self._seen = _Seen(signature, fingerprint)
            self.state, self.message = "ok", f"serving manifest {fingerprint}"
            self._swap(bundle)
            log.warning("serving models from manifest %s: %s", fingerprint, bundle.cache_tag)
            return True

    def _reject(self, signature: tuple[int, int, int], fp: str | None, problems: list[str]) -> None:
        same = self._seen.fingerprint == fp and self._seen.problems
        attempts = self._seen.attempts + 1 if same else 1
        delay = min(RETRY_MAX_S, self.settings.manifest_poll_s * 2 ** (attempts - 1))
        self._seen = _Seen(signature, fp, problems, attempts, time.monotonic() + delay)
        if self.current is not None:
            self.state = "manifest_rejected"
            self.message = (
                "new manifest rejected, still serving the previous models (next try in "
                f"{delay:.0f} s): " + "; ".join(problems)
            )
        log.warning(
            "model manifest %s rejected (try %d, next in %.1f s): %s",
            self.manifest_path, attempts, delay, "; ".join(problems),
        )  # fmt: skip
        for listener in self.listeners:
            listener("rejected", None)

    def _swap(self, bundle: ModelBundle) -> None:
        self.current = bundle  # one reference assignment: atomic for readers
        for listener in self.listeners:
            listener("loaded", bundle)

    def describe(self) -> dict[str, object]:
        b = self.current
        return {
            "state": self.state,
            "message": self.message,
            "manifest_path": str(self.manifest_path),
            "source": b.source if b else None,
            "fingerprint": b.fingerprint if b else None,
            "detector": {"id": b.network.id, "version": b.network.version} if b else None,
            "served_variant": b.served.model_dump(mode="json") if b else None,
            "embedder": {"id": b.embedder.id, "version": b.embedder.version} if b else None,
            "problems": list(self._seen.problems),
            "retry": self._retry(),
        }

    def _retry(self) -> dict[str, object] | None:
        """When a rejected manifest is tried next (None while nothing is rejected)."""
        seen = self._seen
        if not seen.problems:
            return None
        return {
            "attempts": seen.attempts,
            "next_in_s": round(max(0.0, seen.retry_at - time.monotonic()), 1),
        }


class ManifestRejected(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
