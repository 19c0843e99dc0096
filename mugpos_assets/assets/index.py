"""The vector index: every shard's embeddings upserted, vectors of departed images removed.

Blocking checks guard what the API serves: vector dimension and norms, one vector per embedded
image, and a self-retrieval probe (a stored vector must find its own image first).
"""

from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mugpos.corpus import CORPUS_SCHEMA, SHARDS, read_table
from mugpos.embeddings import vectors_of
from mugpos.models.catalog import get_spec
from mugpos.vectorindex.base import SearchFilter, VectorRecord
from mugpos_assets.assets.analyses import analyses_path
from mugpos_assets.assets.embeddings import embeddings_path
from mugpos_assets.resources import CorpusResource, ModelStoreResource, VectorIndexResource

INDEX_GROUP = "index"
UPSERT_BATCH = 512
PROBES = 16


def _embedder_id(model_store: ModelStoreResource) -> str:
    return model_store.settings().embedder


def _shard_tables(corpus: CorpusResource, model_id: str, detector_id: str, shard: str):  # type: ignore[no-untyped-def]
    emb_path = embeddings_path(corpus, model_id, shard)
    if not emb_path.is_file():
        return None
    embeddings = pq.read_table(emb_path)
    images = read_table(corpus.layout().shard_table(shard), CORPUS_SCHEMA)
    an_path: Path = analyses_path(corpus, detector_id, shard)
    labels: dict[str, list[str]] = {}
    if an_path.is_file():
        an = pq.read_table(an_path, columns=["sha256", "labels"])
        labels = dict(
            zip(an.column("sha256").to_pylist(), an.column("labels").to_pylist(), strict=True)
        )
    payload = {
        r["sha256"]: {
            "path": r["path"],
            "source_key": r["source_key"],
            "width": r["width"],
            "height": r["height"],
        }
        for r in images.select(["sha256", "path", "source_key", "width", "height"]).to_pylist()
    }
    return embeddings, labels, payload


@dg.asset(
    group_name=INDEX_GROUP,
    deps=["image_embeddings", "scene_analyses"],
    kinds={"python", "faiss", "mongodb"},
    owners=["team:ml-platform"],
    automation_condition=dg.AutomationCondition.eager(),
    description="The configured vector index (embedded local index by default, MongoDB Atlas "
    "Vector Search in production) holding every corpus image's embedding with filter fields "
    "(model id, shard, labels present, has_mug); images that left the corpus are removed.",
)
def vector_index(
    context: dg.AssetExecutionContext,
    corpus: CorpusResource,
    model_store: ModelStoreResource,
    index: VectorIndexResource,
) -> dg.MaterializeResult:
    settings = model_store.settings()
    model_id, detector_id = settings.embedder, settings.detector
    dim = get_spec(model_id).embedding_dim
    keep: set[str] = set()
    upserted = 0
    with index.open(num_dimensions=dim) as vi:
        for shard in SHARDS:
            tables = _shard_tables(corpus, model_id, detector_id, shard)
            if tables is None:
                continue
            embeddings, labels, payload = tables
            shas = embeddings.column("sha256").to_pylist()
            vectors = vectors_of(embeddings)
            keep.update(shas)
            records = [
                VectorRecord(
                    sha256=sha,
                    model_id=model_id,
                    vector=vec,
                    shard=shard,
                    labels=tuple(labels.get(sha, [])),
                    payload=payload.get(sha, {}),
                )
                for sha, vec in zip(shas, vectors, strict=True)
            ]
            for start in range(0, len(records), UPSERT_BATCH):
                upserted += vi.upsert(records[start : start + UPSERT_BATCH])
        removed = vi.delete_missing(model_id, keep)
        total = vi.count(model_id=model_id)
        described = vi.describe()
    context.log.info(f"index {described.get('backend')}: {total} vectors, {removed} removed")
    return dg.MaterializeResult(
        metadata={
            "model_id": model_id,
            "vectors": total,
            "upserted": upserted,
            "removed": removed,
            "backend": str(described.get("backend")),
            "location": str(described.get("path") or described.get("location")),
            "search": str(described.get("models", {}).get(model_id, {}).get("search", "—")),
        }
    )


def _all_embeddings(corpus: CorpusResource, model_id: str) -> pa.Table | None:
    tables = [
        pq.read_table(p)
        for shard in SHARDS
        if (p := embeddings_path(corpus, model_id, shard)).is_file()
    ]
    return pa.concat_tables(tables) if tables else None


@dg.asset_check(
    asset=vector_index,
    blocking=True,
    description="Every stored vector has the embedder's dimension and unit norm (±1e-3).",
)
def vector_dimension_and_norms(
    corpus: CorpusResource, model_store: ModelStoreResource
) -> dg.AssetCheckResult:
    model_id = _embedder_id(model_store)
    dim = get_spec(model_id).embedding_dim
    table = _all_embeddings(corpus, model_id)
    if table is None:
        return dg.AssetCheckResult(passed=False, metadata={"reason": "no embeddings"})
    vectors = vectors_of(table)
    norms = np.linalg.norm(vectors, axis=1)
    bad = int((np.abs(norms - 1.0) > 1e-3).sum()) + int((~np.isfinite(vectors)).any(axis=1).sum())
    return dg.AssetCheckResult(
        passed=vectors.shape[1] == dim and bad == 0,
        metadata={
            "dim": int(vectors.shape[1]),
            "expected_dim": dim,
            "bad_vectors": bad,
            "min_norm": float(norms.min(initial=1.0)),
            "max_norm": float(norms.max(initial=1.0)),
        },
    )


@dg.asset_check(
    asset=vector_index,
    blocking=True,
    description="The index holds exactly one vector per embedded image of the model.",
)
def index_count_matches_embeddings(
    corpus: CorpusResource, model_store: ModelStoreResource, index: VectorIndexResource
) -> dg.AssetCheckResult:
    model_id = _embedder_id(model_store)
    table = _all_embeddings(corpus, model_id)
    expected = table.num_rows if table is not None else 0
    with index.open() as vi:
        stored = vi.count(model_id=model_id)
        keys = vi.keys(model_id)
    missing = (set(table.column("sha256").to_pylist()) - keys) if table is not None else set()
    return dg.AssetCheckResult(
        passed=stored == expected and not missing,
        metadata={"embeddings": expected, "indexed": stored, "missing": len(missing)},
    )


@dg.asset_check(
    asset=vector_index,
    blocking=True,
    description=f"Self-retrieval probe: {PROBES} sampled vectors find their own image first.",
)
def self_retrieval_probe(
    corpus: CorpusResource, model_store: ModelStoreResource, index: VectorIndexResource
) -> dg.AssetCheckResult:
    model_id = _embedder_id(model_store)
    table = _all_embeddings(corpus, model_id)
    if table is None or table.num_rows == 0:
        return dg.AssetCheckResult(passed=False, metadata={"reason": "no embeddings"})
    rng = np.random.default_rng(0)
    picks = rng.choice(table.num_rows, size=min(PROBES, table.num_rows), replace=False)
    shas = table.column("sha256").to_pylist()
    vectors = vectors_of(table)
    failures = []
    with index.open() as vi:
        for i in picks:
            hits = vi.search(vectors[i], 1, SearchFilter(model_id=model_id))
            if not hits or (hits[0].sha256 != shas[i] and hits[0].score < 0.9999):
                failures.append(shas[i][:12])
    return dg.AssetCheckResult(
        passed=not failures,
        metadata={
            "probes": len(picks),
            "failures": len(failures),
            "failed": ", ".join(failures) or "—",
        },
    )


INDEX_CHECKS = [vector_dimension_and_norms, index_count_matches_embeddings, self_retrieval_probe]
