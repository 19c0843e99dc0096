"""Scene analyses per shard: detections and positions of every corpus image.

Written as Parquet and, document by document, into the document store (SQLite by default,
MongoDB in production), where the API's feedback later joins them.
"""

import base64
import json
import time
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from mugpos.analysis import AnalysisOptions, AnalysisResult
from mugpos.batching import NamedModel
from mugpos.corpus import CORPUS_SCHEMA, read_table, write_table
from mugpos.docstore.base import Collection
from mugpos.errors import MugposError
from mugpos.images import decode_image
from mugpos.models.base import Detector
from mugpos.models.catalog import get_spec
from mugpos.models.variant import configured_variant
from mugpos.rules.repository import RuleRepository
from mugpos.scene_analyses import analyse_shard
from mugpos.settings import get_settings
from mugpos_assets.assets.embeddings import GPU_POOL
from mugpos_assets.assets.models import model_asset_key
from mugpos_assets.partitions import shard_partitions
from mugpos_assets.ray_executor import shard_executor
from mugpos_assets.ray_worker import WorkerSpec
from mugpos_assets.resources import (
    CorpusResource,
    DeviceResource,
    DocumentStoreResource,
    ModelStoreResource,
)

ANALYSES_COLLECTION = "analyses"
SAMPLE_PICTURES = 2
# Per picture; two base64 pictures stay under ~150 KB of run-storage metadata.
SAMPLE_PICTURE_BYTES = 54_000


def analyses_path(corpus: CorpusResource, model_id: str, shard: str) -> Path:
    return corpus.settings().home / "analyses" / model_id / f"{shard}.parquet"


_DETECTOR = get_spec(get_settings().detector)
# The variant the API serves before any champion (and the gate's default candidate): the corpus
# is analysed the way the API answers.
_VARIANT = configured_variant(get_settings())


@dg.asset(
    group_name="analyses",
    partitions_def=shard_partitions,
    deps=["image_corpus", model_asset_key(_DETECTOR)],
    kinds={"python", "parquet", "sqlite"},
    owners=["team:ml-platform"],
    pool=GPU_POOL,
    # A new model version (part of the code version) recomputes every shard.
    automation_condition=dg.AutomationCondition.code_version_changed(),
    code_version=f"2-{_DETECTOR.id}-{_DETECTOR.version}-{_VARIANT.key}",
    description="Detections, positions, rule results and scores of every image of one shard, "
    "from the one analysis function the API also uses, against the enabled rules of the "
    "document store. Parquet per shard, plus one document per image in the 'analyses' "
    "collection.",
)
def scene_analyses(
    context: dg.AssetExecutionContext,
    corpus: CorpusResource,
    model_store: ModelStoreResource,
    device: DeviceResource,
    documents: DocumentStoreResource,
) -> dg.MaterializeResult:
    shard = context.partition_key
    variant = configured_variant(corpus.settings())
    config = device.executor_config()
    spec = get_spec(model_store.settings().detector)
    model: Detector | NamedModel = NamedModel(spec.id, spec.version)
    if config.kind == "inprocess":  # as before: the model lives in this process
        model = variant.wrap(model_store.load_detector(device.choose(context.log)))
    images = read_table(corpus.layout().shard_table(shard), CORPUS_SCHEMA)
    out = analyses_path(corpus, model.id, shard)
    previous = pq.read_table(out) if out.is_file() else None
    started = time.perf_counter()
    with documents.open() as store:
        rules = RuleRepository(store).rule_set()
        options = AnalysisOptions(rules=rules.rules, score_threshold=variant.threshold)

        def progress(done: int, total: int, rate: float) -> None:
            context.log.info(f"shard {shard}: analysed {done}/{total} images ({rate:.1f}/s)")

        worker = WorkerSpec(
            task="analyses",
            settings=model_store.settings(),
            device_preference=device.preference,  # type: ignore[arg-type]
            batch_size=device.batch_size,
            variant=variant.key,
            options=options,
        )
        with shard_executor(config, worker, model, context.log, label=f"shard {shard}") as ex:
            table, computed = analyse_shard(
                model, images, previous, options, variant=variant.key, progress=progress,
                runner=ex.runner,
            )  # fmt: skip
        elapsed = time.perf_counter() - started
        write_table(table, out)  # atomic, and only once the whole shard is done
        removed = sync_documents(store.collection(ANALYSES_COLLECTION), table, shard, model.id)
    mugs = sum(table.column("n_mugs").to_pylist())
    pictures: dict[str, dg.MetadataValue] = {}
    try:
        pictures["sample_pictures"] = dg.MetadataValue.md(sample_pictures(images, table))
    except (MugposError, OSError, ValueError) as exc:  # a preview must never fail the shard
        context.log.warning(f"shard {shard}: no sample pictures ({exc})")
    return dg.MaterializeResult(
        metadata={
            "images": table.num_rows,
            "computed": computed,
            "mugs": mugs,
            "images_with_mugs": sum(table.column("has_mug").to_pylist()),
            "rules": len(rules.rules),
            "documents_removed": removed,
            "model_id": model.id,
            "variant": variant.key,
            "images_per_s": round(computed / elapsed, 2) if computed else 0.0,
            **ex.metadata(),
            "path": dg.MetadataValue.path(str(out)),
            **pictures,
        }
    )


def sample_pictures(images: pa.Table, analyses: pa.Table, limit: int = SAMPLE_PICTURES) -> str:
    """Markdown with up to ``limit`` annotated pictures (images with mugs first) as inline PNGs,
    so the Dagster UI shows what the shard's analyses look like without opening a file."""
    from mugpos.render_analysis import analysis_thumbnail_png

    rows = analyses.to_pylist()  # sorted by sha256: the same samples on every run
    rows = sorted(rows, key=lambda r: not r["has_mug"])[:limit]
    by_sha = {r["sha256"]: r for r in images.select(["sha256", "path", "source_key"]).to_pylist()}
    parts = []
    for row in rows:
        src = by_sha.get(row["sha256"])
        if src is None:
            continue
        result = AnalysisResult.model_validate_json(row["analysis_json"])
        png = analysis_thumbnail_png(
            decode_image(src["path"]).pixels, result, max_bytes=SAMPLE_PICTURE_BYTES
        )
        name = src["source_key"] or Path(src["path"]).name
        data = base64.b64encode(png).decode("ascii")
        score = row["scene_score"]  # null when no mug was found (not scored)
        scored = "not scored" if score is None else f"scene score {score:.0f}"
        caption = f"**{name}**: {row['n_mugs']} mug(s), {scored}"
        parts.append(f"{caption}\n\n![{name}](data:image/png;base64,{data})")
    return "\n\n".join(parts) or "no images in this shard"


def sync_documents(collection: Collection, table: pa.Table, shard: str, model_id: str) -> int:
    """Upsert one document per analysed image; delete those of images that left the shard."""
    keep = set()
    for row in table.to_pylist():
        doc_id = f"{model_id}:{row['sha256']}"
        keep.add(doc_id)
        doc = {k: v for k, v in row.items() if k != "analysis_json"}
        doc.update(_id=doc_id, source="corpus", analysis=json.loads(row["analysis_json"]))
        collection.replace(doc)
    stale = [
        d["_id"]
        for d in collection.find({"shard": shard, "model_id": model_id, "source": "corpus"})
        if d["_id"] not in keep
    ]
    for doc_id in stale:
        collection.delete(doc_id)
    return len(stale)
