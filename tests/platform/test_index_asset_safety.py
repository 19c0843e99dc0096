"""The index asset and its checks guard the served index: a run that finds no embeddings
changes nothing, the dimension check reads the index itself, and the self-retrieval probe
allows for an index that makes writes searchable a little later (Atlas)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mugpos.embeddings import embeddings_schema
from mugpos.vectorindex import Hit, VectorRecord, open_vector_index
from mugpos_assets.assets.index import probe_failures, vector_dimension_and_norms, vector_index
from mugpos_assets.resources import CorpusResource, ModelStoreResource, VectorIndexResource

SSD = "ssd-mobilenetv2-oidv4"


def sha(i: int) -> str:
    return f"{i:064x}"


def fill(index_dir: Path, dim: int, n: int = 3) -> None:
    rng = np.random.default_rng(0)
    with open_vector_index(index_dir) as vi:
        vi.upsert(
            VectorRecord(sha(i), SSD, rng.normal(size=dim), shard=sha(i)[0]) for i in range(n)
        )


def resources(home: Path, index_dir: Path) -> dict[str, object]:
    return {
        "model_store": ModelStoreResource(home=str(home), offline=True),
        "corpus": CorpusResource(home=str(home)),
        "index": VectorIndexResource(home=str(home), uri=str(index_dir)),
    }


def test_no_embedding_tables_changes_nothing(tmp_path: Path) -> None:
    """A run from the wrong working directory (a relative home with nothing in it) must not
    empty the index it points at."""
    index_dir = tmp_path / "shared-index"
    fill(index_dir, 1280)
    result = dg.materialize(
        [vector_index], resources=resources(tmp_path / "elsewhere", index_dir), raise_on_error=False
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None and "no embedding tables" in failure.message
    with open_vector_index(index_dir) as vi:
        assert vi.count(model_id=SSD) == 3


def test_dimension_check_reads_the_index(tmp_path: Path) -> None:
    """Vectors of another dimension stored under the embedder's id (an index built by another
    embedder) fail the check, although the Parquet tables are sound."""
    index_dir = tmp_path / "index"
    fill(index_dir, 8)
    rng = np.random.default_rng(1)
    unit = rng.normal(size=(3, 1280)).astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    table = pa.Table.from_pylist(
        [
            {"sha256": sha(i), "shard": sha(i)[0], "model_id": SSD, "model_version": "v",
             "vector": unit[i].tolist()}
            for i in range(3)
        ],
        schema=embeddings_schema(1280),
    )  # fmt: skip
    out = tmp_path / "embeddings" / SSD / f"{sha(0)[0]}.parquet"
    out.parent.mkdir(parents=True)
    pq.write_table(table, out)
    result = dg.materialize(
        [vector_index, vector_dimension_and_norms],
        selection=dg.AssetSelection.checks(vector_dimension_and_norms),
        resources=resources(tmp_path, index_dir),
        raise_on_error=False,
    )
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed
    meta = {k: v.value for k, v in check.metadata.items()}
    assert meta["dims"] == "8" and meta["expected_dim"] == 1280 and meta["bad_vectors"] == 3


def test_probe_waits_out_an_indexing_delay() -> None:
    """The first searches find nothing (the writes are not searchable yet), later ones do."""
    shas = [sha(i) for i in range(3)]
    calls: list[int] = []
    clock = [0.0]

    def search(i: int) -> list[Hit]:
        calls.append(i)
        if clock[0] < 2.0:
            return []
        return [Hit(shas[i], SSD, 1.0, "0", (), False, {})]

    def sleep(s: float) -> None:
        clock[0] += s

    failed = probe_failures(
        search, [0, 1, 2], shas, settle_s=60.0, sleep=sleep, clock=lambda: clock[0]
    )
    assert failed == [] and clock[0] >= 2.0 and len(calls) > 3
    never = probe_failures(
        lambda i: [], [0, 1], shas, settle_s=5.0, sleep=sleep, clock=lambda: clock[0]
    )
    assert never == [shas[0][:12], shas[1][:12]]
