"""The model-holding worker that a Ray actor runs: loads its model once, then runs engine batches.

Nothing here imports Ray or Dagster: the executor (``mugpos_assets.ray_executor``) wraps this
class with ``ray.remote`` and ships it by reference, so a Ray worker needs only the engine
installed (the same image as the code location). The work itself is the engine's per-batch
functions, the ones the in-process path runs, so both paths give the same rows.
"""

from __future__ import annotations

import os
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mugpos.analysis import AnalysisOptions
from mugpos.batching import ImageRow
from mugpos.settings import Settings

Task = Literal["analyses", "embeddings"]


class WorkerSpec(BaseModel):
    """What an actor loads: the task, the model store (its settings: home, mirror, offline and
    model ids) and the device preference and batch size of the Dagster device resource."""

    model_config = ConfigDict(frozen=True)

    task: Task
    settings: Settings
    device_preference: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: int | None = None
    variant: str | None = None  # analyses: the detector variant key (threshold and tiling)
    options: AnalysisOptions | None = None  # analyses: rules and threshold
    # Threads inside each model call (the SSD's LiteRT interpreter); None: the model's default.
    # The executor sets the actor's CPUs, so N actors on N cores do not oversubscribe them.
    num_threads: int | None = None


class WorkerInfo(BaseModel):
    """What an actor reports once its model is loaded (logged and checked by the executor)."""

    pid: int
    node: str
    model_id: str
    model_version: str
    dim: int | None
    device_kind: str
    device_name: str
    dtype: str
    batch_size: int
    load_s: float


class ModelWorker:
    """One model per actor process, loaded from the model store's files on construction."""

    def __init__(self, spec: WorkerSpec) -> None:
        from mugpos.device import choose_device
        from mugpos.models.loader import load_detector, load_embedder
        from mugpos.models.store import ModelStore

        started = time.perf_counter()
        self.spec = spec
        self.device = choose_device(spec.device_preference, spec.batch_size)
        store = ModelStore.from_settings(spec.settings)
        threads = spec.num_threads
        model: Any
        if spec.task == "analyses":
            from mugpos.models.variant import DetectorVariant

            if spec.variant is None or spec.options is None:
                raise ValueError("an analyses worker needs the variant and the analysis options")
            variant = DetectorVariant.parse(spec.variant)
            detector = load_detector(
                settings=spec.settings, store=store, device=self.device, num_threads=threads
            )
            model = variant.wrap(detector)
        else:
            model = load_embedder(
                settings=spec.settings, store=store, device=self.device, num_threads=threads
            )
        self.model = model
        self.load_s = time.perf_counter() - started

    def describe(self) -> WorkerInfo:
        import socket

        return WorkerInfo(
            pid=os.getpid(),
            node=socket.gethostname(),
            model_id=self.model.id,
            model_version=self.model.version,
            dim=getattr(self.model, "dim", None) if self.spec.task == "embeddings" else None,
            device_kind=self.device.kind,
            device_name=self.device.name,
            dtype=self.device.dtype,
            batch_size=self.device.batch_size,
            load_s=self.load_s,
        )

    def run(self, rows: list[ImageRow]) -> Any:
        """One batch through the engine: analysis rows, or an ``N x dim`` array of vectors."""
        if self.spec.task == "analyses":
            from mugpos.scene_analyses import analyse_batch

            assert self.spec.options is not None and self.spec.variant is not None
            return analyse_batch(self.model, rows, self.spec.options, self.spec.variant)
        from mugpos.embeddings import embed_batch

        return embed_batch(self.model, rows)
