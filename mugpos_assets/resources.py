"""Dagster resources: thin, configurable wrappers around the engine's backends.

Unset fields fall back to the engine's settings (``MUGPOS_*``), the only reader of the
environment; ``definitions.py`` passes credentials-bearing values as ``dg.EnvVar`` so the UI shows
the variable's name, never its value.
"""

from pathlib import Path
from typing import Any

import dagster as dg

from mugpos.corpus import CorpusLayout
from mugpos.device import DeviceChoice, choose_device
from mugpos.docstore.base import DocumentStore
from mugpos.models.base import Detector, Embedder
from mugpos.models.loader import load_detector, load_embedder
from mugpos.models.store import ModelStore
from mugpos.objectstore.base import ObjectStore, open_object_store
from mugpos.settings import Settings, get_settings
from mugpos.vectorindex.base import VectorIndex
from mugpos_assets.ray_executor import ExecutorConfig


def resolve_settings(**overrides: Any) -> Settings:
    """Engine settings with the resource's explicitly configured fields on top (validated, so
    a URI given here becomes a secret like one read from the environment)."""
    update = {k: v for k, v in overrides.items() if v is not None}
    if not update:
        return get_settings()
    return Settings(**{**get_settings().model_dump(), **update})


class ModelStoreResource(dg.ConfigurableResource):
    """Local model cache with an optional mirror (directory or s3:// prefix), and the models
    the platform runs: the detector and the embedder, chosen by id."""

    home: str | None = None
    mirror: str | None = None
    offline: bool | None = None
    detector: str | None = None
    embedder: str | None = None

    def settings(self) -> Settings:
        return resolve_settings(
            home=self.home,
            model_mirror=self.mirror,
            offline=self.offline,
            detector=self.detector,
            embedder=self.embedder,
        )

    def store(self) -> ModelStore:
        return ModelStore.from_settings(self.settings())

    def load_detector(self, device: DeviceChoice) -> Detector:
        return load_detector(settings=self.settings(), store=self.store(), device=device)

    def load_embedder(self, device: DeviceChoice) -> Embedder:
        return load_embedder(settings=self.settings(), store=self.store(), device=device)


class DeviceResource(dg.ConfigurableResource):
    """The engine's device choice ("H200 resources"): CUDA when present, else the CPU, logged;
    and where the batch assets run their images (in this process, or on a Ray cluster whose
    actors make the same device choice on their own hardware)."""

    preference: str = "auto"
    batch_size: int | None = None
    executor: str | None = None
    ray_address: str | None = None
    ray_actors: int | None = None
    ray_cpus_per_actor: float | None = None
    ray_gpus_per_actor: float | None = None

    def executor_config(self) -> ExecutorConfig:
        s = resolve_settings(
            executor=self.executor,
            ray_address=self.ray_address,
            ray_actors=self.ray_actors,
            ray_cpus_per_actor=self.ray_cpus_per_actor,
            ray_gpus_per_actor=self.ray_gpus_per_actor,
        )
        return ExecutorConfig(
            kind=s.executor,
            ray_address=s.ray_address,
            actors=s.ray_actors,
            cpus_per_actor=s.ray_cpus_per_actor,
            gpus_per_actor=s.ray_gpus_per_actor,
        )

    def choose(self, log: Any | None = None) -> DeviceChoice:
        choice = choose_device(self.preference, self.batch_size)  # type: ignore[arg-type]
        if log is not None:
            if choice.kind == "cpu" and self.preference != "cpu":
                log.warning(f"running on the CPU: {choice.reason}")
            log.info(
                f"device {choice.name} ({choice.kind}, {choice.dtype}, batch {choice.batch_size})"
            )
        return choice


class CorpusResource(dg.ConfigurableResource):
    """Where corpus images come from (the inbox) and where the validated corpus lives."""

    home: str | None = None
    source: str | None = None

    def settings(self) -> Settings:
        return resolve_settings(home=self.home, corpus_source=self.source)

    def source_store(self) -> ObjectStore:
        s = self.settings()
        return open_object_store(s.corpus_source_uri, s)

    def layout(self) -> CorpusLayout:
        return CorpusLayout(self.settings().corpus_dir)


class DocumentStoreResource(dg.ConfigurableResource):
    """Rules, analyses and feedback: SQLite by default, MongoDB when ``uri`` is mongodb://."""

    home: str | None = None
    uri: str | None = None

    def open(self) -> DocumentStore:
        from mugpos.docstore import open_document_store

        s = resolve_settings(home=self.home, document_store_uri=self.uri)
        location = s.document_store_location
        if "://" not in location:
            Path(location).parent.mkdir(parents=True, exist_ok=True)
        return open_document_store(location)


class VectorIndexResource(dg.ConfigurableResource):
    """The embedded local index by default; MongoDB Atlas Vector Search for a mongodb+srv URI."""

    home: str | None = None
    uri: str | None = None

    def location(self) -> str:
        return resolve_settings(home=self.home, vector_index_uri=self.uri).vector_index_location

    def open(self, num_dimensions: int | None = None) -> VectorIndex:
        from mugpos.vectorindex import open_vector_index

        return open_vector_index(self.location(), num_dimensions=num_dimensions)
