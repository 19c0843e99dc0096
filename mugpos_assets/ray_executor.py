"""The Ray executor of the per-shard batch assets: the shard's images on model-holding actors.

The asset stays the driver: it decides what to compute, reads each image's bytes and hands
batches to a few actors (one model each, loaded once from the model store's files), gets the
results back in order and writes the table itself, atomically, once the whole shard is done.
So the cluster needs no access to the corpus or the outputs, only to the model store, and a
worker that dies mid-shard fails the step with nothing written; the rerun computes the shard.

Plain ``ray.init(address=...)`` from the asset rather than dagster-ray 0.4.8: its
``RayResource`` always builds a Ray Client address (``ray://host:10001``) or starts a local
cluster, and connects whenever a step holds the resource, in-process runs included; its
``ray_executor`` runs whole steps as Ray jobs, which is not what a shard needs (docs/ray.md).
"""

from __future__ import annotations

import itertools
import socket
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import dagster as dg
from pydantic import BaseModel, ConfigDict, model_validator

from mugpos.batching import BatchRunner, ImageRow, ModelRef
from mugpos.settings import Settings
from mugpos_assets.ray_worker import ModelWorker, WorkerInfo, WorkerSpec

# Batches queued per actor: one running, one waiting, so an actor never idles between batches
# while the driver holds at most a few batches' bytes.
IN_FLIGHT_PER_ACTOR = 2
# How long actors may take to be placed and load their model (an autoscaling cluster may
# first have to add a node) before the step fails saying what they asked for.
ACTOR_START_TIMEOUT_S = 600.0
# How long the cluster address may take to accept a TCP connection.
CONNECT_TIMEOUT_S = 5.0


class ExecutorConfig(BaseModel):
    """Where a shard's batches run (``MUGPOS_EXECUTOR`` and ``MUGPOS_RAY_*``, or the device
    resource's fields)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["inprocess", "ray"] = "inprocess"
    ray_address: str | None = None
    actors: int | None = None
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0

    @model_validator(mode="after")
    def _address_for_ray(self) -> ExecutorConfig:
        if self.kind == "ray" and not self.ray_address:
            raise ValueError("the ray executor needs a cluster address (MUGPOS_RAY_ADDRESS)")
        return self


# Secrets an actor needs: the model mirror may be an R2 prefix. Every other secret (database
# URIs, tokens, API keys) stays out of what is shipped to the cluster.
ACTOR_SECRETS = frozenset({"s3_access_key_id", "s3_secret_access_key"})


def actor_settings(settings: Settings) -> Settings:
    """The settings an actor gets: the model store's, without secrets it has no use for."""
    drop = {
        name: None
        for name, field in Settings.model_fields.items()
        if "SecretStr" in str(field.annotation) and name not in ACTOR_SECRETS
    }
    return settings.model_copy(update=drop)


def check_reachable(address: str, label: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Fail at once when nothing listens at the cluster address: ``ray.init`` would otherwise
    retry an unreachable GCS for minutes before it gives up."""
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms: left to Ray
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise dg.Failure(
            f"{label}: the Ray cluster at {address} (MUGPOS_RAY_ADDRESS) is not reachable "
            f"({exc}); start it, fix the address, or set MUGPOS_EXECUTOR=inprocess"
        ) from exc


class RayShardExecutor:
    """One shard's Ray session: connect, start actors on the first batch, run, clean up.

    Used as a context manager around the engine's shard function, which takes ``runner``.
    """

    def __init__(
        self,
        config: ExecutorConfig,
        spec: WorkerSpec,
        expected: ModelRef,
        log: Any,
        *,
        label: str,
    ) -> None:
        self.config = config
        self.spec = spec
        self.expected = expected
        self.log = log
        self.label = label
        self.actors: list[Any] = []
        self.infos: list[WorkerInfo] = []
        self.images = 0
        self.started_s = 0.0
        self.compute_s = 0.0
        self._connected_here = False

    def __enter__(self) -> RayShardExecutor:
        import ray

        if not ray.is_initialized():
            check_reachable(self.config.ray_address or "", self.label)
            ray.init(
                address=self.config.ray_address,
                namespace="mugpos",
                logging_level="WARNING",
            )
            self._connected_here = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)  # actors die with the step, never linger holding a model
        self.actors = []
        if self._connected_here:
            ray.shutdown()

    def _actor_count(self, batches: int | None) -> int:
        import ray

        if self.config.actors is not None:
            wanted = self.config.actors
        else:
            free = ray.available_resources()
            if self.config.gpus_per_actor > 0:
                wanted = int(free.get("GPU", 0.0) // self.config.gpus_per_actor)
            else:
                wanted = int(free.get("CPU", 0.0) // self.config.cpus_per_actor)
        return max(1, wanted if batches is None else min(wanted, batches))

    def batch_size(self) -> int:
        """The device resource's batch when it sets one, else the actors' device default
        (which starts them: a GPU's batch is known only where the GPU is)."""
        if self.spec.batch_size is not None:
            return self.spec.batch_size
        self._start(None)
        return self.infos[0].batch_size

    def device_name(self) -> str:
        return ", ".join(sorted({f"{i.device_kind}:{i.device_name}" for i in self.infos}))

    def _start(self, batches: int | None) -> None:
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError

        if self.actors:
            return
        t0 = time.perf_counter()
        spec = self.spec.model_copy(update={"settings": actor_settings(self.spec.settings)})
        if self.config.gpus_per_actor == 0:
            # An actor that reserved no GPU must not take one (nor pay for importing torch to
            # look): CPU actors run on the CPU, GPU actors make the device resource's choice.
            threads = max(1, round(self.config.cpus_per_actor))
            spec = spec.model_copy(update={"device_preference": "cpu", "num_threads": threads})
        cls = ray.remote(ModelWorker).options(
            num_cpus=self.config.cpus_per_actor,
            num_gpus=self.config.gpus_per_actor,
            max_restarts=0,  # a dead actor fails the shard; the rerun starts afresh
            max_task_retries=0,
        )
        self.actors = [cls.remote(spec) for _ in range(self._actor_count(batches))]
        try:
            self.infos = ray.get(
                [a.describe.remote() for a in self.actors], timeout=ACTOR_START_TIMEOUT_S
            )
        except GetTimeoutError as exc:
            raise dg.Failure(
                f"{self.label}: {len(self.actors)} ray actor(s) not up after "
                f"{ACTOR_START_TIMEOUT_S:.0f} s: the cluster lacks the CPUs/GPUs they reserve "
                f"({self.config.cpus_per_actor} CPU, {self.config.gpus_per_actor} GPU each)"
            ) from exc
        except RayActorError as exc:  # the model did not load: say why, from the actor
            raise dg.Failure(f"{self.label}: a ray actor failed to start: {exc}") from exc
        self.started_s = time.perf_counter() - t0
        want_dim = getattr(self.expected, "dim", 0) or None
        for info in self.infos:
            got = (info.model_id, info.model_version, info.dim if want_dim else None)
            if got != (self.expected.id, self.expected.version, want_dim):
                raise dg.Failure(
                    f"ray actor on {info.node} loaded {got}, the platform expects "
                    f"{(self.expected.id, self.expected.version, want_dim)}: the "
                    "cluster runs another version of the engine"
                )
        first = self.infos[0]
        self.log.info(
            f"{self.label}: {len(self.actors)} ray actor(s) at {self.config.ray_address} up in "
            f"{self.started_s:.1f} s (pids {', '.join(str(i.pid) for i in self.infos)}; "
            f"{first.device_kind} {first.device_name}, {first.dtype}, batch {first.batch_size}, "
            f"model load {max(i.load_s for i in self.infos):.2f} s)"
        )

    def runner(self, batches: Iterable[list[ImageRow]]) -> Iterator[Any]:
        """Each batch's result, in order; images travel as bytes, so workers need no corpus."""
        import ray
        from ray.exceptions import RayActorError

        pending = list(batches)
        if not pending:
            return
        self._start(len(pending))
        t0 = time.perf_counter()
        refs: deque[Any] = deque()
        actors = itertools.cycle(self.actors)
        queue = iter(pending)

        def submit(batch: list[ImageRow]) -> None:
            shipped = [{**r, "data": Path(str(r["path"])).read_bytes()} for r in batch]
            refs.append(next(actors).run.remote(shipped))

        for batch in itertools.islice(queue, len(self.actors) * IN_FLIGHT_PER_ACTOR):
            submit(batch)
        while refs:
            try:
                result = ray.get(refs.popleft())
            except RayActorError as exc:
                raise dg.Failure(
                    f"{self.label}: a ray actor died mid-shard; nothing was written, rerun the "
                    f"shard ({type(exc).__name__}: {str(exc)[:300]})"
                ) from exc
            nxt = next(queue, None)
            if nxt is not None:
                submit(nxt)
            self.images += len(result)
            self.compute_s = time.perf_counter() - t0
            yield result

    def metadata(self) -> dict[str, Any]:
        rate = self.images / self.compute_s if self.compute_s > 0 else 0.0
        return {
            "executor": "ray",
            "ray_address": self.config.ray_address,
            "ray_actors": len(self.infos),
            "ray_actor_start_s": round(self.started_s, 3),
            "ray_devices": self.device_name() or "none started (nothing to compute)",
            "ray_images_per_s": round(rate, 2),  # from the first batch sent, actors up
        }


class InProcessExecutor:
    """Today's path: the asset holds the model and the engine runs the batches here."""

    runner: BatchRunner | None = None

    def batch_size(self) -> int:
        raise RuntimeError("in-process shards use the device resource's own choice")

    def device_name(self) -> str:
        return "inprocess"

    def metadata(self) -> dict[str, Any]:
        return {"executor": "inprocess"}


@contextmanager
def shard_executor(
    config: ExecutorConfig, spec: WorkerSpec, expected: ModelRef, log: Any, *, label: str
) -> Iterator[InProcessExecutor | RayShardExecutor]:
    """The configured executor for one shard; its ``runner`` goes to the engine's shard
    function (``None``: in-process, the asset passes the loaded model instead)."""
    if config.kind == "inprocess":
        yield InProcessExecutor()
        return
    with RayShardExecutor(config, spec, expected, log, label=label) as executor:
        yield executor
