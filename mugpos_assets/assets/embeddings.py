"""Image embeddings per shard, in batches on the device resource (GPU pool of one)."""

import time

import dagster as dg
import pyarrow.parquet as pq

from mugpos.batching import NamedModel
from mugpos.corpus import CORPUS_SCHEMA, read_table, write_table
from mugpos.embeddings import embed_shard, vectors_of
from mugpos.models.base import Embedder
from mugpos.models.catalog import get_spec
from mugpos.settings import get_settings
from mugpos_assets.assets.models import model_asset_key
from mugpos_assets.partitions import shard_partitions
from mugpos_assets.ray_executor import shard_executor
from mugpos_assets.ray_worker import WorkerSpec
from mugpos_assets.resources import CorpusResource, DeviceResource, ModelStoreResource

EMBEDDINGS_GROUP = "embeddings"
GPU_POOL = "gpu"


def embeddings_path(corpus: CorpusResource, model_id: str, shard: str):  # type: ignore[no-untyped-def]
    return corpus.settings().home / "embeddings" / model_id / f"{shard}.parquet"


def _embedder_spec():  # type: ignore[no-untyped-def]
    return get_spec(get_settings().embedder)


@dg.asset(
    group_name=EMBEDDINGS_GROUP,
    partitions_def=shard_partitions,
    deps=["image_corpus", model_asset_key(_embedder_spec())],
    kinds={"python", "parquet"},
    owners=["team:ml-platform"],
    pool=GPU_POOL,
    # A new model version (part of the code version) recomputes every shard.
    automation_condition=dg.AutomationCondition.code_version_changed(),
    # The embedder's version is part of the code version: a new model version re-embeds all.
    code_version=f"1-{_embedder_spec().id}-{_embedder_spec().version}",
    description="Image embeddings of one corpus shard (sha256, model id/version, L2-normalised "
    "vector) from the configured embedder, computed in batches on the device resource; vectors "
    "of unchanged images are reused.",
)
def image_embeddings(
    context: dg.AssetExecutionContext,
    corpus: CorpusResource,
    model_store: ModelStoreResource,
    device: DeviceResource,
) -> dg.MaterializeResult:
    shard = context.partition_key
    config = device.executor_config()
    spec = get_spec(model_store.settings().embedder)
    model: Embedder | NamedModel = NamedModel(spec.id, spec.version, spec.embedding_dim or 0)
    choice = None
    if config.kind == "inprocess":  # as before: the model lives in this process
        choice = device.choose(context.log)
        model = model_store.load_embedder(choice)
    images = read_table(corpus.layout().shard_table(shard), CORPUS_SCHEMA)
    out = embeddings_path(corpus, model.id, shard)
    previous = pq.read_table(out) if out.is_file() else None

    def progress(done: int, total: int, rate: float) -> None:
        context.log.info(f"shard {shard}: embedded {done}/{total} images ({rate:.1f} images/s)")

    worker = WorkerSpec(
        task="embeddings",
        settings=model_store.settings(),
        device_preference=device.preference,  # type: ignore[arg-type]
        batch_size=device.batch_size,
    )
    started = time.perf_counter()
    with shard_executor(config, worker, model, context.log, label=f"shard {shard}") as ex:
        # In-process: this device's batch; on Ray: the one the actors chose on their device.
        batch_size = choice.batch_size if choice is not None else ex.batch_size()
        table, computed = embed_shard(
            model, images, previous, batch_size=batch_size, progress=progress, runner=ex.runner
        )
    elapsed = time.perf_counter() - started
    write_table(table, out)  # atomic, and only once the whole shard is done
    vectors = vectors_of(table)
    norms = (vectors**2).sum(axis=1) ** 0.5 if len(vectors) else vectors
    return dg.MaterializeResult(
        metadata={
            "images": table.num_rows,
            "computed": computed,
            "reused": table.num_rows - computed,
            "model_id": model.id,
            "model_version": model.version,
            "dim": model.dim,
            "device": choice.name if choice is not None else ex.device_name(),
            "batch_size": batch_size,
            "images_per_s": round(computed / elapsed, 2) if computed else 0.0,
            **ex.metadata(),
            "min_norm": float(norms.min()) if len(norms) else 0.0,
            "path": dg.MetadataValue.path(str(out)),
        }
    )
