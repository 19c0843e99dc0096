"""The backup assets, check and schedule over the real asset graph on a tiny corpus, to S3."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
from conftest import MotoS3, documents, live_index, tree

from mugpos.backup import BackupRoots, restore_backup
from mugpos.backup.catalog import load_manifest
from mugpos.backup.manifest import object_key
from mugpos.corpus import shard_of
from mugpos.docstore import open_document_store
from mugpos.images import encode_jpeg, sha256_bytes
from mugpos.objectstore.base import open_object_store
from mugpos.samples import sample_photo
from mugpos.settings import Settings
from mugpos.vectorindex import SearchFilter, open_vector_index
from mugpos_assets.assets.backups import (
    BACKUP_ASSETS,
    BACKUP_CHECKS,
    backup_readback,
    daily_backup_schedule,
)
from mugpos_assets.assets.index import INDEX_CHECKS
from mugpos_assets.backup_resources import ObjectStoreResource
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
PHOTOS = ("coffee", "rocket", "astronaut")


def A(key: str) -> dg.AssetsDefinition:
    return defs.get_assets_def(dg.AssetKey.from_user_string(key))


def _answers(index_dir: Path, shas: list[str]) -> list[list[tuple[object, ...]]]:
    with open_vector_index(index_dir) as vi:
        return [
            [
                (h.sha256, h.score, h.labels, h.payload)
                for h in vi.search(vi.get_vector(sha, SSD), 3, SearchFilter(model_id=SSD))
            ]
            for sha in shas
        ]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, shared_home: Path, ssd):  # type: ignore[no-untyped-def]
    """Models, manifest, three photos through every shard asset, the index, some documents."""
    home = tmp_path_factory.mktemp("backup-platform")
    res = {
        "model_store": ModelStoreResource(home=str(shared_home), offline=True),
        "device": DeviceResource(),
        "corpus": CorpusResource(home=str(home)),
        "documents": DocumentStoreResource(home=str(home)),
        "index": VectorIndexResource(home=str(home)),
        "mlflow": MlflowResource(home=str(home)),
    }
    inbox = home / "inbox"
    inbox.mkdir()
    shas = []
    for name in PHOTOS:
        data = encode_jpeg(sample_photo(name), quality=92)
        (inbox / f"{name}.jpg").write_bytes(data)
        shas.append(sha256_bytes(data))
    assert dg.materialize(
        [A(f"models/{SSD.replace('-', '_')}"), A("model_manifest")], resources=res
    ).success
    for shard in sorted({shard_of(s) for s in shas}):
        keys = ["image_corpus", "scene_analyses", "image_embeddings"]
        assert dg.materialize([A(k) for k in keys], resources=res, partition_key=shard).success
    assert dg.materialize([A("vector_index"), *INDEX_CHECKS], resources=res).success
    with open_document_store(home / "documents.sqlite3") as store:
        store.collection("rules").insert({"_id": "gap", "rule": {"cm": 10}})
        store.collection("feedback").insert({"_id": "fb1", "helpful": True})
    (home / "evaluation").mkdir()
    (home / "evaluation" / "report.json").write_text(json.dumps({"recall": 0.9}))
    return home, res, shas


def _backup(moto_s3: MotoS3, home: Path, bucket: str, **kw: object) -> ObjectStoreResource:
    s = moto_s3.settings(home, bucket)  # creates the bucket
    return ObjectStoreResource(
        uri=s.backup_uri,
        home=str(home),
        endpoint_url=kw.pop("endpoint_url", moto_s3.endpoint),  # type: ignore[arg-type]
        access_key_id="test-key",
        secret_access_key="test-secret",
        max_attempts=2,
        connect_timeout_s=2,
        verify_sample=100,
        **kw,  # type: ignore[arg-type]
    )


def test_backup_assets_round_trip_through_s3(
    platform, moto_s3: MotoS3, bucket: str, shared_home: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    home, res, shas = platform
    backup = _backup(moto_s3, home, bucket)
    res = {**res, "backup": backup}
    result = dg.materialize([*BACKUP_ASSETS, *BACKUP_CHECKS], resources=res)
    assert result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"backup_readback": True}
    mats = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert mats["backup_embeddings"]["files"].value == len({shard_of(s) for s in shas})
    assert mats["backup_index"]["backend"].value == "local"
    store = backup.open()
    key, manifest = load_manifest(store)
    assert mats["backup_manifest"]["manifest"].value == key
    assert manifest.run_id == result.run_id
    assert {f.run_id for f in manifest.families.values()} == {result.run_id}
    paths = {e.path: e for e in manifest.entries}
    assert paths["models/manifest.json"].source == "model_manifest"
    assert paths["evaluation/report.json"].asset == "backup_evaluation"

    again = dg.materialize(BACKUP_ASSETS, resources=res)
    assert again.success
    meta = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in again.get_asset_materialization_events()
    }
    assert meta["backup_manifest"]["uploaded"].value == 0  # nothing changed, nothing sent

    # A machine lost: restore into an empty home, compare with the original.
    fresh = BackupRoots.from_settings(Settings(home=tmp_path / "new-home"))
    restore_backup(store, fresh)
    assert tree(fresh.models) == tree(shared_home / "models")
    assert tree(fresh.embeddings) == tree(home / "embeddings")
    assert live_index(Path(fresh.index)) == live_index(home / "index")
    assert documents(fresh.documents) == documents(home / "documents.sqlite3")
    assert tree(fresh.evaluation) == tree(home / "evaluation")
    assert _answers(Path(fresh.index), shas) == _answers(home / "index", shas)

    # The check reads objects back: one rotten object fails it.
    victim = paths[next(p for p in paths if p.startswith("embeddings/"))]
    store.put_bytes(object_key(victim.sha256), b"rotten")
    failed = backup_readback(backup=backup)
    assert not failed.passed and victim.path in str(failed.metadata["problems"].value)


def test_an_unreachable_store_fails_the_run_and_writes_no_manifest(
    platform, moto_s3: MotoS3, bucket: str
) -> None:  # type: ignore[no-untyped-def]
    home, res, _ = platform
    dead = _backup(moto_s3, home, bucket, endpoint_url="http://127.0.0.1:9")
    result = dg.materialize(BACKUP_ASSETS, resources={**res, "backup": dead}, raise_on_error=False)
    assert not result.success
    s = moto_s3.settings(home, bucket)
    assert open_object_store(s.backup_location, s).list("manifests/") == []


def test_the_daily_schedule_targets_every_backup_asset_and_the_check() -> None:
    job = defs.resolve_job_def("daily_backup")
    assert "backup" in defs.resources
    assert daily_backup_schedule.cron_schedule == "0 4 * * *"
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == {
        a.key.to_user_string() for a in BACKUP_ASSETS
    }
    assert {c.name for c in job.asset_layer.asset_graph.asset_check_keys} >= {"backup_readback"}
