"""The vector index: every shard's embeddings upserted, vectors of departed images removed.

Removal is per shard and only for shards whose embedding table exists: a table is the truth
for its shard, and a shard with no table says nothing (not "every image left"). A run that
finds no table at all (nothing materialized, or a home that resolves elsewhere: it is relative
by default) changes nothing and fails, instead of emptying a shared index. On Atlas the asset
waits here until the search index is built, so requests never wait for it.

Blocking checks guard what the API serves: vector dimension and norms read back from the index
itself, one vector per embedded image, and a self-retrieval probe (a stored vector must find
its own image first), which allows for Atlas's indexing delay.
"""

import time
from collections.abc import Callable
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
NORM_SAMPLE = 256  # vectors read back from the index by the dimension and norms check
PROBE_SETTLE_S = 60.0  # Atlas makes writes searchable within seconds; allow for that


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
    upserted = removed = 0
    found: list[str] = []
    with index.open(num_dimensions=dim) as vi:
        for shard in SHARDS:
            tables = _shard_tables(corpus, model_id, detector_id, shard)
            if tables is None:
                continue
            found.append(shard)
            embeddings, labels, payload = tables
            shas = embeddings.column("sha256").to_pylist()
            vectors = vectors_of(embeddings)
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
            removed += vi.delete_missing(model_id, set(shas), shard=shard)
        if not found:
            where = embeddings_path(corpus, model_id, SHARDS[0]).parent.resolve()
            raise dg.Failure(
                f"no embedding tables for {model_id} under {where}: nothing was indexed and "
                "nothing removed. Materialize image_embeddings first, or check MUGPOS_HOME "
                "(relative by default, so it depends on the working directory)."
            )
        ensure = getattr(vi, "ensure_search_index", None)
        if ensure is not None:  # Atlas: wait for the build here, never in a request
            ensure(dim, wait=True)
        total = vi.count(model_id=model_id)
        described = vi.describe()
    context.log.info(f"index {described.get('backend')}: {total} vectors, {removed} removed")
    return dg.MaterializeResult(
        metadata={
            "model_id": model_id,
            "vectors": total,
            "upserted": upserted,
            "removed": removed,
            "shards": len(found),
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
    description=f"Vectors read back from the index (up to {NORM_SAMPLE}, sampled) have the "
    "embedder's dimension, finite values and unit norm (±1e-3).",
)
def vector_dimension_and_norms(
    model_store: ModelStoreResource, index: VectorIndexResource
) -> dg.AssetCheckResult:
    model_id = _embedder_id(model_store)
    dim = get_spec(model_id).embedding_dim
    with index.open() as vi:
        keys = sorted(vi.keys(model_id))
        rng = np.random.default_rng(0)
        picks = rng.choice(len(keys), size=min(NORM_SAMPLE, len(keys)), replace=False)
        stored = [vi.get_vector(keys[i], model_id) for i in sorted(picks)]
    if not keys:
        return dg.AssetCheckResult(passed=False, metadata={"reason": "no vectors in the index"})
    missing = sum(v is None for v in stored)
    vectors = [np.asarray(v, dtype=np.float64) for v in stored if v is not None]
    dims = sorted({int(v.shape[0]) for v in vectors})
    norms = np.asarray([np.linalg.norm(v) for v in vectors])
    bad = missing + sum(
        1
        for v, n in zip(vectors, norms, strict=True)
        if v.shape[0] != dim or not np.isfinite(v).all() or abs(n - 1.0) > 1e-3
    )
    return dg.AssetCheckResult(
        passed=bad == 0,
        metadata={
            "checked": len(stored),
            "of": len(keys),
            "dims": ", ".join(map(str, dims)) or "—",
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
    with index.open() as vi:
        failures = probe_failures(
            lambda i: vi.search(vectors[i], 1, SearchFilter(model_id=model_id)),
            [int(i) for i in picks],
            shas,
            settle_s=PROBE_SETTLE_S if vi.describe().get("backend") == "atlas" else 0.0,
        )
    return dg.AssetCheckResult(
        passed=not failures,
        metadata={
            "probes": len(picks),
            "failures": len(failures),
            "failed": ", ".join(failures) or "—",
        },
    )


def probe_failures(
    search: Callable[[int], list],
    picks: list[int],
    shas: list[str],
    *,
    settle_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """The probes whose vector does not find its own image first; probes that fail are asked
    again until ``settle_s`` has passed (an index that makes writes searchable a little later,
    as Atlas does, is not a failure while that delay lasts)."""
    deadline = clock() + settle_s
    pending = list(picks)
    delay = 0.5
    while True:
        pending = [
            i
            for i in pending
            if not (hits := search(i)) or (hits[0].sha256 != shas[i] and hits[0].score < 0.9999)
        ]
        if not pending or clock() >= deadline:
            return [shas[i][:12] for i in pending]
        sleep(min(delay, max(0.0, deadline - clock())))
        delay = min(delay * 2, 5.0)


INDEX_CHECKS = [vector_dimension_and_norms, index_count_matches_embeddings, self_retrieval_probe]
