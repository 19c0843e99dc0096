"""The image corpus: sample images for the demo, then validated, deduplicated shards."""

import hashlib
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from evaluation.sample_corpus import build_sample_corpus
from mugpos.corpus import REJECT_SCHEMA, SHARDS, ingest_shard, read_table
from mugpos.objectstore import LocalObjectStore
from mugpos_assets.partitions import shard_partitions
from mugpos_assets.resources import CorpusResource

CORPUS_GROUP = "corpus"
MAX_REJECT_RATE = 0.25


class SampleImagesConfig(dg.Config):
    n_scenes: int = 24
    seed: int = 0


@dg.asset(
    group_name=CORPUS_GROUP,
    kinds={"python", "jpeg"},
    owners=["team:ml-platform"],
    description="Sample images dropped into the inbox for the demo: registry photos, generated "
    "tabletop scenes and a few deliberately bad files (they show the reject log at work).",
)
def sample_images(
    context: dg.AssetExecutionContext, config: SampleImagesConfig, corpus: CorpusResource
) -> dg.MaterializeResult:
    source = corpus.source_store()
    if not isinstance(source, LocalObjectStore):
        raise dg.Failure(
            "sample images are written to a local inbox; the configured source is remote"
        )
    paths = build_sample_corpus(source.root, n_scenes=config.n_scenes, seed=config.seed)
    context.log.info(f"{len(paths)} sample files in {source.root}")
    return dg.MaterializeResult(
        metadata={"files": len(paths), "inbox": dg.MetadataValue.path(str(source.root))}
    )


@dg.asset(
    group_name=CORPUS_GROUP,
    partitions_def=shard_partitions,
    kinds={"python", "parquet"},
    owners=["team:ml-platform"],
    code_version="1",
    description="One shard of the corpus: every source image whose sha256 starts with the shard's "
    "hex digit, validated by the engine's safe decoder, deduplicated by sha256 and stored "
    "content-addressed; metadata in shards/<shard>.parquet, rejects with reasons in "
    "rejects/<shard>.parquet.",
)
def image_corpus(context: dg.AssetExecutionContext, corpus: CorpusResource) -> dg.MaterializeResult:
    shard = context.partition_key
    s = corpus.settings()
    result = ingest_shard(
        corpus.source_store(),
        shard,
        corpus.layout(),
        max_bytes=s.max_image_bytes,
        max_pixels=s.max_image_pixels,
    )
    shas = result.images.column("sha256").to_pylist()
    duplicates = sum(len(d) for d in result.images.column("duplicate_keys").to_pylist())
    preview = result.images.select(["sha256", "source_key", "format", "width", "height"]).slice(
        0, 10
    )
    rejects = result.rejects.select(["source_key", "reason"]).to_pylist()
    reject_md = "\n".join(f"| {r['source_key']} | {r['reason']} |" for r in rejects) or "| — | — |"
    return dg.MaterializeResult(
        metadata={
            "images": len(shas),
            "rejected": result.rejects.num_rows,
            "duplicates": duplicates,
            "reject_rate": round(result.reject_rate, 4),
            "source_objects": result.scanned,
            "table": dg.MetadataValue.path(str(corpus.layout().shard_table(shard))),
            "preview": dg.MetadataValue.md(_markdown(preview.to_pylist())),
            "reject_log": dg.MetadataValue.md("| source | reason |\n|---|---|\n" + reject_md),
        },
        data_version=dg.DataVersion(_digest(shas)),
    )


@dg.asset_check(asset=image_corpus, description=f"Corpus-wide reject rate ≤ {MAX_REJECT_RATE:.0%}.")
def corpus_reject_rate(corpus: CorpusResource) -> dg.AssetCheckResult:
    layout = corpus.layout()
    images = rejected = 0
    for shard in SHARDS:
        images += _rows(layout.shard_table(shard))
        rejected += read_table(layout.reject_table(shard), REJECT_SCHEMA).num_rows
    total = images + rejected
    rate = rejected / total if total else 0.0
    return dg.AssetCheckResult(
        passed=rate <= MAX_REJECT_RATE,
        metadata={"reject_rate": round(rate, 4), "images": images, "rejected": rejected},
    )


def _rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows if path.is_file() else 0


def _digest(items: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()[:24]


def _markdown(rows: list[dict[str, object]]) -> str:
    if not rows:
        return "_empty shard_"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c])[:16] for c in cols) + " |" for r in rows]
    return "\n".join(lines)
