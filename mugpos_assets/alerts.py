"""The Dagster side of events: ``system_alert`` when an asset check, a backup, an index build or
any run fails, and ``model_updated`` when a new model manifest is written.

Sensors watch run outcomes and materializations and append events to the durable event log in
the document store; the API delivers them (webhooks) and streams them (``GET /v1/events``), so
alerts reach n8n and dashboards whether or not anyone is looking at the Dagster UI. A failing
check that blocks its run is reported once, as the check, not again as the step it failed.
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg

from mugpos.events import Event, EventLog
from mugpos_assets.resources import DocumentStoreResource

ORIGIN = "dagster"
MAX_MESSAGE = 500
MANIFEST_KEY = dg.AssetKey("model_manifest")


def emit(documents: DocumentStoreResource, events: Sequence[Event]) -> int:
    if not events:
        return 0
    with documents.open() as store:
        EventLog(store).append_many(events, ORIGIN)
    return len(events)


def alert(kind: str, severity: str, run: dg.DagsterRun, message: str, **extra: Any) -> Event:
    return Event(
        type="system_alert",
        source="dagster",
        data={
            "kind": kind,
            "severity": severity,
            "run_id": run.run_id,
            "job": run.job_name,
            "message": message[:MAX_MESSAGE],
            **extra,
        },
    )


def kind_of_step(step_key: str) -> str:
    if step_key.startswith("backup_"):
        return "backup_failed"
    if step_key.startswith("vector_index"):
        return "index_build_failed"
    return "asset_failed"


def failed_check_events(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[Event]:
    events = []
    for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.get_dagster_event().event_specific_data
        if evaluation is None or evaluation.passed:
            continue
        asset = evaluation.asset_key.to_user_string()
        metadata = {k: _plain(v) for k, v in (evaluation.metadata or {}).items()}
        events.append(
            alert(
                "asset_check_failed",
                "warning" if evaluation.severity == dg.AssetCheckSeverity.WARN else "error",
                run,
                evaluation.description or f"check {evaluation.check_name} on {asset} failed",
                asset=asset,
                check=evaluation.check_name,
                metadata=metadata,
            )
        )
    return events


def run_failure_events(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[Event]:
    """One alert per failed step (backup, index build, other asset), one per failed check."""
    checks = failed_check_events(instance, run)
    checked = {e.data["check"] for e in checks}
    events = []
    for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        event = record.get_dagster_event()
        step = event.step_key or "?"
        if any(step.endswith(name) for name in checked):
            continue  # the failed check itself, reported above
        data = event.step_failure_data
        error = _root_cause(data.error) if data and data.error else event.message or ""
        events.append(alert(kind_of_step(step), "error", run, error, step=step))
    if not events and not checks:  # failed before or outside any step (a crashed worker)
        events.append(
            alert("run_failed", "error", run, f"run {run.run_id} of {run.job_name} failed")
        )
    return events + checks


@dg.run_failure_sensor(
    name="platform_failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A failed run (a backup, an index build, an asset) becomes a system_alert event: "
    "webhooks deliver it, GET /v1/events streams it.",
)
def platform_failure_alerts(
    context: dg.RunFailureSensorContext, documents: DocumentStoreResource
) -> None:
    n = emit(documents, run_failure_events(context.instance, context.dagster_run))
    context.log.info(f"{n} system_alert event(s) for run {context.dagster_run.run_id}")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="platform_check_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A run that succeeded with failed (non-blocking) asset checks: one system_alert "
    "event per failed check.",
)
def platform_check_alerts(
    context: dg.RunStatusSensorContext, documents: DocumentStoreResource
) -> None:
    emit(documents, failed_check_events(context.instance, context.dagster_run))


@dg.asset_sensor(
    asset_key=MANIFEST_KEY,
    name="manifest_updates",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Each new model manifest (new models, a new champion, a rollback) becomes a "
    "model_updated event.",
)
def manifest_updates(
    context: dg.SensorEvaluationContext,
    asset_event: dg.EventLogEntry,
    documents: DocumentStoreResource,
) -> dg.SkipReason:
    materialization = asset_event.asset_materialization
    metadata = {
        k: _plain(v) for k, v in (materialization.metadata if materialization else {}).items()
    }
    event = Event(
        type="model_updated",
        source="dagster",
        data={
            "reason": "manifest_written",
            "run_id": asset_event.run_id,
            **{
                k: metadata.get(k)
                for k in (
                    "fingerprint",
                    "detector",
                    "embedder",
                    "served_variant",
                    "served_source",
                    "champion_version",
                )
            },
        },
    )
    emit(documents, [event])
    return dg.SkipReason(f"model_updated logged for manifest {metadata.get('fingerprint')}")


def _root_cause(error: Any) -> str:
    """The user's own exception ("RuntimeError: R2 answered 403"), not Dagster's wrapper."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return str(error.message).strip()


def _plain(value: Any) -> Any:
    """A metadata value as JSON: its plain value, or text."""
    raw = getattr(value, "value", value)
    return raw if isinstance(raw, str | int | float | bool | type(None)) else str(raw)[:MAX_MESSAGE]


ALERT_SENSORS = [platform_failure_alerts, platform_check_alerts, manifest_updates]
