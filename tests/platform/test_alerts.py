"""The Dagster side of events: real runs on an ephemeral instance (a failing backup, a failing
index build, failed checks) become system_alert events in the event log the API delivers
from; a new manifest materialization becomes model_updated."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mugpos.docstore import open_document_store
from mugpos.events import EventLog
from mugpos.scene_analyses import ANALYSES_SCHEMA
from mugpos_assets.alerts import (
    failed_check_events,
    manifest_updates,
    platform_check_alerts,
    platform_failure_alerts,
    run_failure_events,
)
from mugpos_assets.assets.cards import worst_rows
from mugpos_assets.resources import CorpusResource, DocumentStoreResource


@dg.asset(name="backup_models")
def failing_backup() -> None:
    raise RuntimeError("R2 answered 403 AccessDenied")


@dg.asset(name="vector_index")
def failing_index() -> None:
    raise ValueError("embeddings of shard 3 have 511 dimensions, expected 512")


@dg.asset(name="image_corpus")
def corpus_ok() -> None:
    return None


@dg.asset_check(asset=corpus_ok, description="reject rate")
def reject_rate() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False, metadata={"reject_rate": 0.4}, description="40% rejected"
    )


@dg.asset_check(asset=corpus_ok, blocking=True)
def must_have_images() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, description="the corpus is empty")


def run(instance: dg.DagsterInstance, *defs: object) -> dg.DagsterRun:
    result = dg.materialize(list(defs), instance=instance, raise_on_error=False)  # type: ignore[arg-type]
    return result.dagster_run


def logged(path: Path) -> list[dict[str, object]]:
    with open_document_store(path) as store:
        return [e.model_dump() for e in EventLog(store).read_after(0)]


@pytest.fixture()
def instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.ephemeral()


def test_failed_backup_and_index_runs_become_alerts_through_the_sensor(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    docs = tmp_path / "documents.sqlite3"
    resource = DocumentStoreResource(uri=str(docs))
    for assets in ((failing_backup,), (failing_index,)):
        failed = run(instance, *assets)
        assert failed.status == dg.DagsterRunStatus.FAILURE
        failure = instance.all_logs(failed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0]
        context = dg.build_run_status_sensor_context(
            sensor_name="platform_failure_alerts",
            dagster_event=failure.get_dagster_event(),
            dagster_instance=instance,
            dagster_run=failed,
            resources={"documents": resource},
        ).for_run_failure()
        platform_failure_alerts(context)
    events = logged(docs)
    assert [e["type"] for e in events] == ["system_alert", "system_alert"]
    kinds = {e["data"]["kind"]: e["data"] for e in events}  # type: ignore[index]
    assert set(kinds) == {"backup_failed", "index_build_failed"}
    assert "403 AccessDenied" in kinds["backup_failed"]["message"]
    assert "511 dimensions" in kinds["index_build_failed"]["message"]
    assert all(e["source"] == "dagster" and e["subject"] is None for e in events)


def test_failed_checks_are_reported_once_each(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    soft = run(instance, corpus_ok, reject_rate)
    assert soft.status == dg.DagsterRunStatus.SUCCESS  # a failed non-blocking check
    alerts = failed_check_events(instance, soft)
    assert len(alerts) == 1
    data = alerts[0].data
    assert data["kind"] == "asset_check_failed" and data["check"] == "reject_rate"
    assert data["asset"] == "image_corpus" and data["metadata"] == {"reject_rate": 0.4}
    assert data["message"] == "40% rejected"
    docs = tmp_path / "docs.sqlite3"
    success = instance.all_logs(soft.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)[0]
    platform_check_alerts(
        dg.build_run_status_sensor_context(
            sensor_name="platform_check_alerts",
            dagster_event=success.get_dagster_event(),
            dagster_instance=instance,
            dagster_run=soft,
            resources={"documents": DocumentStoreResource(uri=str(docs))},
        )
    )
    assert [e["data"]["check"] for e in logged(docs)] == ["reject_rate"]  # type: ignore[index]
    hard = run(instance, corpus_ok, must_have_images)
    assert hard.status == dg.DagsterRunStatus.FAILURE  # a blocking check stops the run
    (only,) = run_failure_events(instance, hard)  # the check, not again as its failed step
    assert only.data["kind"] == "asset_check_failed" and only.data["check"] == "must_have_images"
    assert only.data["message"] == "the corpus is empty"


def test_a_new_manifest_becomes_model_updated(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    docs = tmp_path / "docs.sqlite3"
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "model_manifest",
            metadata={
                "fingerprint": "ab12cd34ef56ab12",
                "detector": "yolov8n",
                "served_source": "champion",
                "champion_version": "3",
            },
        )
    )
    context = dg.build_sensor_context(
        instance=instance, resources={"documents": DocumentStoreResource(uri=str(docs))}
    )
    result = manifest_updates.evaluate_tick(context)
    assert result.cursor  # the next tick starts after this materialization
    (event,) = logged(docs)
    assert event["type"] == "model_updated"
    assert event["data"] == {  # type: ignore[comparison-overlap]
        "reason": "manifest_written",
        "run_id": event["data"]["run_id"],  # type: ignore[index]
        "fingerprint": "ab12cd34ef56ab12",
        "detector": "yolov8n",
        "embedder": None,
        "served_variant": None,
        "served_source": "champion",
        "champion_version": "3",
    }


def test_worst_rows_rank_scored_scenes_lowest_first(tmp_path: Path) -> None:
    corpus = CorpusResource(home=str(tmp_path))
    rows = [
        {"sha256": f"{i:064x}", "shard": "0", "model_id": "m", "model_version": "1",
         "variant": "m@0.3", "rules_hash": "h", "width": 10, "height": 10,
         "n_mugs": int(s is not None), "labels": [], "has_mug": s is not None,
         "scene_score": s, "analysis_json": "{}"}
        for i, s in enumerate([80.0, None, 12.5, 100.0, 40.0])
    ]  # fmt: skip
    path = tmp_path / "analyses" / "m" / "0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=ANALYSES_SCHEMA), path)
    assert [r["scene_score"] for r in worst_rows(corpus, "m", 3)] == [12.5, 40.0, 80.0]
    assert len(worst_rows(corpus, "m", 10)) == 4  # the unscored scene is never ranked
