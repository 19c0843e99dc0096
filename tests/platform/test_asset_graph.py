"""The whole asset graph in-process on a small sample corpus with embedded defaults.

Asserts on what lands on disk and in the index, on checks and metadata, and on idempotency,
failure in the middle of a shard, removal of an image, and the sensor and schedule logic.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from mugpos.corpus import SHARDS, CorpusLayout, shard_of
from mugpos.docstore import open_document_store
from mugpos.images import encode_jpeg, sha256_bytes
from mugpos.samples import sample_photo
from mugpos.vectorindex import SearchFilter, open_vector_index
from mugpos_assets.assets.index import INDEX_CHECKS
from mugpos_assets.automation import changed_shards, inbox_sensor
from mugpos_assets.definitions import defs
from mugpos_assets.mlflow_resource import MlflowResource
from mugpos_assets.resources import (
    CorpusResource,
    DeviceResource,
    DocumentStoreResource,
    ModelStoreResource,
    VectorIndexResource,
)

SSD = "ssd-mobilenetv2-oidv4"
COFFEE_SHA = sha256_bytes(encode_jpeg(sample_photo("coffee"), quality=92))


def A(key: str) -> dg.AssetsDefinition:
    return defs.get_assets_def(dg.AssetKey.from_user_string(key))


SHARD_ASSETS = ["image_corpus", "scene_analyses", "image_embeddings"]


def resources(home: Path, models_home: Path, docs_uri: str | None = None) -> dict[str, object]:
    return {
        "model_store": ModelStoreResource(home=str(models_home), offline=True),
        "device": DeviceResource(),
        "corpus": CorpusResource(home=str(home)),
        "documents": DocumentStoreResource(home=str(home), uri=docs_uri),
        "index": VectorIndexResource(home=str(home)),
        "mlflow": MlflowResource(home=str(home)),
    }


def run_shards(res: dict[str, object], shards: list[str] | tuple[str, ...] = SHARDS) -> None:
    for shard in shards:
        result = dg.materialize([A(k) for k in SHARD_ASSETS], resources=res, partition_key=shard)
        assert result.success


def run_index(res: dict[str, object]) -> dg.ExecuteInProcessResult:
    return dg.materialize([A("vector_index"), *INDEX_CHECKS], resources=res, raise_on_error=False)


def metadata(result: dg.ExecuteInProcessResult, key: str) -> dict[str, object]:
    ev = [
        e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key
    ]
    return {k: v.value for k, v in ev[-1].materialization.metadata.items()}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, shared_home: Path, ssd):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("platform")
    res = resources(home, shared_home)
    first = dg.materialize(
        [A(f"models/{SSD.replace('-', '_')}"), A("model_manifest"), A("sample_images")],
        resources=res,
        run_config={"ops": {"sample_images": {"config": {"n_scenes": 8}}}},
    )
    assert first.success
    run_shards(res)
    index_run = run_index(res)
    return home, res, first, index_run


def test_corpus_tables_and_reject_log(platform) -> None:  # type: ignore[no-untyped-def]
    home, *_ = platform
    layout = CorpusLayout(home / "corpus")
    images = [pq.read_table(layout.shard_table(s)) for s in SHARDS]
    rejects = [pq.read_table(layout.reject_table(s)) for s in SHARDS]
    shas = [sha for t in images for sha in t.column("sha256").to_pylist()]
    assert len(shas) == len(set(shas)) == 4 + 8  # 4 photos + 8 scenes; the copy is deduplicated
    coffee = next(r for t in images for r in t.to_pylist() if r["sha256"] == COFFEE_SHA)
    assert sorted([coffee["source_key"], *coffee["duplicate_keys"]]) == [
        "copy-of-coffee.jpg",
        "photo-coffee.jpg",
    ]
    assert coffee["shard"] == shard_of(COFFEE_SHA) and Path(coffee["path"]).is_file()
    reasons = {r["source_key"]: r["reason"] for t in rejects for r in t.to_pylist()}
    assert set(reasons) == {"broken-truncated.jpg", "not-an-image.jpg"}
    assert "truncated" in reasons["broken-truncated.jpg"]
    assert "not a recognised image" in reasons["not-an-image.jpg"]


def test_analyses_and_documents(platform) -> None:  # type: ignore[no-untyped-def]
    home, *_ = platform
    table = pq.read_table(home / "analyses" / SSD / f"{shard_of(COFFEE_SHA)}.parquet")
    row = next(r for r in table.to_pylist() if r["sha256"] == COFFEE_SHA)
    assert row["has_mug"] and row["n_mugs"] == 1 and "mug" in row["labels"]
    with open_document_store(home / "documents.sqlite3") as store:
        docs = store.collection("analyses")
        assert docs.count({"model_id": SSD}) == 12
        doc = docs.get(f"{SSD}:{COFFEE_SHA}")
        assert doc is not None and doc["analysis"]["detections"][0]["label"] == "mug"


def test_index_contents_checks_and_metadata(platform) -> None:  # type: ignore[no-untyped-def]
    home, _res, first, index_run = platform
    assert index_run.success
    checks = {c.check_name: c.passed for c in index_run.get_asset_check_evaluations()}
    assert checks == {
        "vector_dimension_and_norms": True,
        "index_count_matches_embeddings": True,
        "self_retrieval_probe": True,
    }
    meta = metadata(index_run, "vector_index")
    assert meta["vectors"] == 12 and meta["removed"] == 0
    manifest = metadata(first, "model_manifest")
    assert manifest["detector"] == SSD and Path(str(manifest["path"])).is_file()
    with open_vector_index(home / "index") as vi:
        mugs = vi.search(
            vi.get_vector(COFFEE_SHA, SSD), 5, SearchFilter(model_id=SSD, has_mug=True)
        )
        # The coffee photo is the nearest scene with a mug; the other hits are generated desk
        # scenes (which hold mugs, found by the tiled variant), never a negative photo.
        assert mugs[0].sha256 == COFFEE_SHA
        assert mugs[0].payload["source_key"] in ("photo-coffee.jpg", "copy-of-coffee.jpg")
        assert all(h.payload["source_key"].startswith("scene-") for h in mugs[1:]), [
            h.payload["source_key"] for h in mugs
        ]


def test_materializing_twice_changes_nothing(platform) -> None:  # type: ignore[no-untyped-def]
    home, res, *_ = platform
    shard = shard_of(COFFEE_SHA)
    emb_path = home / "embeddings" / SSD / f"{shard}.parquet"
    before = pq.read_table(emb_path)
    result = dg.materialize([A(k) for k in SHARD_ASSETS], resources=res, partition_key=shard)
    assert metadata(result, "image_embeddings")["computed"] == 0
    assert metadata(result, "scene_analyses")["computed"] == 0
    assert pq.read_table(emb_path).equals(before)
    again = run_index(res)
    assert metadata(again, "vector_index")["vectors"] == 12
    assert all(c.passed for c in again.get_asset_check_evaluations())


def test_failure_mid_shard_then_rerun_leaves_no_gap_or_duplicate(platform) -> None:  # type: ignore[no-untyped-def]
    home, res, *_ = platform
    layout = CorpusLayout(home / "corpus")
    # Pick a shard with at least two images and break one stored image after ingest.
    shard = max(SHARDS, key=lambda s: pq.read_table(layout.shard_table(s)).num_rows)
    rows = pq.read_table(layout.shard_table(shard)).to_pylist()
    assert len(rows) >= 2
    emb_path = home / "embeddings" / SSD / f"{shard}.parquet"
    emb_path.unlink()  # the shard has to be computed again, image by image
    victim = Path(rows[-1]["path"])
    saved = victim.read_bytes()
    victim.write_bytes(saved[:100])
    failed = dg.materialize(
        [A("image_embeddings")], resources=res, partition_key=shard, raise_on_error=False
    )
    assert not failed.success
    assert not emb_path.exists()  # nothing half-written
    victim.write_bytes(saved)
    run_shards(res, [shard])
    table = pq.read_table(emb_path)
    assert sorted(table.column("sha256").to_pylist()) == sorted(r["sha256"] for r in rows)
    result = run_index(res)
    assert metadata(result, "vector_index")["vectors"] == 12
    assert all(c.passed for c in result.get_asset_check_evaluations())


def test_removed_image_leaves_index_and_documents(tmp_path: Path, shared_home: Path, ssd) -> None:  # type: ignore[no-untyped-def]
    res = resources(tmp_path, shared_home)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("coffee", "rocket", "astronaut"):
        (inbox / f"{name}.jpg").write_bytes(encode_jpeg(sample_photo(name), quality=92))
    run_shards(res)
    assert metadata(run_index(res), "vector_index")["vectors"] == 3
    assert changed_shards(CorpusResource(home=str(tmp_path))) == []
    (inbox / "coffee.jpg").unlink()
    assert changed_shards(CorpusResource(home=str(tmp_path))) == [shard_of(COFFEE_SHA)]
    run_shards(res, [shard_of(COFFEE_SHA)])
    result = run_index(res)
    assert metadata(result, "vector_index")["removed"] == 1
    with open_vector_index(tmp_path / "index") as vi:
        assert vi.count(model_id=SSD) == 2 and COFFEE_SHA not in vi.keys(SSD)
    with open_document_store(tmp_path / "documents.sqlite3") as store:
        assert store.collection("analyses").get(f"{SSD}:{COFFEE_SHA}") is None


def test_inbox_sensor_requests_only_changed_shards(tmp_path: Path) -> None:
    corpus = CorpusResource(home=str(tmp_path))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.jpg").write_bytes(encode_jpeg(sample_photo("rocket"), quality=90))
    with dg.build_sensor_context(resources={"corpus": corpus}) as ctx:
        first = inbox_sensor(ctx)
        rocket_shard = shard_of(sha256_bytes((inbox / "a.jpg").read_bytes()))
        assert [r.partition_key for r in first] == [rocket_shard]  # nothing ingested yet
        quiet = inbox_sensor(ctx)
        assert isinstance(quiet, dg.SkipReason)
        (inbox / "b.jpg").write_bytes(encode_jpeg(sample_photo("coffee"), quality=92))
        added = inbox_sensor(ctx)
        assert [r.partition_key for r in added] == [shard_of(COFFEE_SHA)]
        (inbox / "a.jpg").unlink()
        removed = inbox_sensor(ctx)
        assert [r.partition_key for r in removed] == [rocket_shard]


def test_analyses_over_the_mongodb_wire(
    tmp_path: Path, shared_home: Path, mongo_uri: str, ssd
) -> None:  # type: ignore[no-untyped-def]
    """The document-store leg for analyses, against a real MongoDB wire-protocol server."""
    res = resources(tmp_path, shared_home, docs_uri=f"{mongo_uri}/platform_analyses")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "coffee.jpg").write_bytes(encode_jpeg(sample_photo("coffee"), quality=92))
    shard = shard_of(COFFEE_SHA)
    run_shards(res, [shard])
    with open_document_store(f"{mongo_uri}/platform_analyses") as store:
        doc = store.collection("analyses").get(f"{SSD}:{COFFEE_SHA}")
    assert doc is not None and doc["has_mug"] is True and doc["shard"] == shard
    shutil.rmtree(inbox)
    inbox.mkdir()
    run_shards(res, [shard])
    with open_document_store(f"{mongo_uri}/platform_analyses") as store:
        assert store.collection("analyses").get(f"{SSD}:{COFFEE_SHA}") is None


def test_search_by_image_and_text(platform, ssd) -> None:  # type: ignore[no-untyped-def]
    from mugpos.errors import UnsupportedOperationError
    from mugpos.images import decode_image
    from mugpos.search import search_by_image, search_by_text

    home, *_ = platform
    flipped = encode_jpeg(sample_photo("coffee")[:, ::-1].copy(), quality=90)
    with open_vector_index(home / "index") as vi:
        hits = search_by_image(decode_image(flipped), ssd, vi, k=3)
        assert hits[0].sha256 == COFFEE_SHA and hits[0].score > 0.95
        assert hits[0].score > hits[1].score
        only_mugs = search_by_image(decode_image(flipped), ssd, vi, k=3, has_mug=True)
        assert all(h.has_mug for h in only_mugs)
        with pytest.raises(UnsupportedOperationError, match="text search needs a CLIP"):
            search_by_text("a mug on a desk", ssd, vi)


def test_worst_scene_cards(platform) -> None:  # type: ignore[no-untyped-def]
    import json

    from PIL import Image

    home, res, *_ = platform
    result = dg.materialize(
        [A("worst_scene_cards")],
        resources=res,
        run_config={"ops": {"worst_scene_cards": {"config": {"count": 3}}}},
    )
    assert result.success
    meta = metadata(result, "worst_scene_cards")
    index = json.loads((home / "cards" / SSD / "index.json").read_text())
    tables = [home / "analyses" / SSD / f"{s}.parquet" for s in SHARDS]
    scored = [
        r for t in tables if t.is_file() for r in pq.read_table(t).to_pylist() if r["has_mug"]
    ]
    assert scored  # the coffee photo at least
    assert meta["cards"] == len(index) == min(3, len(scored)) and meta["renderer"] == "local"
    scores = [e["scene_score"] for e in index]
    assert scores == sorted(scores) and all(s is not None for s in scores)
    for entry in index:
        assert Image.open(entry["path"]).size[0] == 1400
    assert "data:image/jpeg;base64," in str(meta["previews"])
