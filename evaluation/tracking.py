"""MLflow logging for evaluations, comparisons and the champion, through an explicit client.

Everything takes an ``MlflowClient`` (never the global ``mlflow.set_tracking_uri`` or
``MLFLOW_*`` variables), so a test, a Dagster resource and the CLI can each point at their own
store in one process. Layout:

* one experiment per dataset, ``mugpos-eval-<dataset>``;
* one run per variant x dataset: params (model id, version, sha256, thresholds, dataset
  version), metrics, tags (Dagster run id, asset key, code version) and artifacts
  (``pr_curve.png``, ``per_image.parquet``, ``gallery.png``, ``report.json``,
  ``model_card/variant.json``);
* one parent run per comparison, the variants' runs as its children;
* the champion: registered model ``mugpos-mug-detector-<dataset>``, alias ``champion`` on a
  model version whose source is the winning run's ``model_card`` (the variant's spec, not the
  weights: those stay pinned by sha256 in the catalog) and tag ``mugpos.champion=true`` on
  that run.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from evaluation.dataset import EvalDataset
from evaluation.harness import Report
from evaluation.plots import gallery_png, pr_curve_png
from evaluation.variants import Variant
from mugpos.models.base import DEFAULT_IOU_THRESHOLD
from mugpos.models.catalog import get_spec

if TYPE_CHECKING:
    from mlflow import MlflowClient

CHAMPION_ALIAS = "champion"
PARENT_TAG = "mlflow.parentRunId"
# The one registered model whose champion the API serves (per-dataset champions live beside it).
SERVED_MODEL = "mugpos-detector"


def experiment_name(dataset: str) -> str:
    return f"mugpos-eval-{dataset}"


def registered_model_name(dataset: str) -> str:
    return f"mugpos-mug-detector-{dataset}"


def ensure_experiment(client: MlflowClient, dataset: str, artifact_root: str | None) -> str:
    """The dataset's experiment id, created on first use (artifacts under ``artifact_root``)."""
    name = experiment_name(dataset)
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = f"{artifact_root.rstrip('/')}/{name}" if artifact_root else None
    return str(client.create_experiment(name, artifact_location=location))


def variant_params(variant: Variant, ds: EvalDataset) -> dict[str, str]:
    spec = get_spec(variant.model_id)
    return {
        "variant": variant.key,
        "model_id": spec.id,
        "model_version": spec.version,
        "model_sha256": spec.primary.sha256,
        "score_threshold": f"{variant.threshold:g}",
        "tiling": variant.tiling,
        "tiling_config": variant.tiling_config.model_dump_json(),
        "iou_threshold": f"{DEFAULT_IOU_THRESHOLD:g}",
        "match_iou": "0.5",
        "dataset": ds.name,
        "dataset_version": ds.version,
        "dataset_images": str(len(ds.examples)),
        "dataset_mugs": str(ds.n_mugs),
        "rules": ",".join(r.id for r in ds.rules) or "-",
    }


def log_evaluation(
    client: MlflowClient,
    experiment_id: str,
    variant: Variant,
    ds: EvalDataset,
    report: Report,
    *,
    tags: Mapping[str, str] | None = None,
) -> str:
    """One finished run with everything an engineer needs to judge the variant on the set."""
    from mlflow.entities import Metric, Param, RunTag

    run = client.create_run(
        experiment_id,
        run_name=f"{variant.key} on {ds.name}",
        tags={
            "mugpos.kind": "evaluation",
            "mugpos.variant": variant.key,
            "mugpos.dataset": ds.name,
            "mugpos.dataset_version": ds.version,
            **(tags or {}),
        },
    )
    run_id = run.info.run_id
    ts = run.info.start_time
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, ts, 0) for k, v in report.finite_metrics().items()],
        params=[Param(k, v) for k, v in variant_params(variant, ds).items()],
        tags=[RunTag("mugpos.eval_seconds", f"{report.seconds:.2f}")],
    )
    with tempfile.TemporaryDirectory(prefix="mugpos-eval-") as tmp:
        out = Path(tmp)
        pr_curve_png(report, out / "pr_curve.png")
        gallery_png(ds, report, out / "gallery.png")
        pq.write_table(pa.Table.from_pylist(report.records), out / "per_image.parquet")
        (out / "report.json").write_text(json.dumps(report_json(report, variant), indent=1))
        for name in ("pr_curve.png", "gallery.png", "per_image.parquet", "report.json"):
            client.log_artifact(run_id, str(out / name))
        card = out / "variant.json"
        card.write_text(json.dumps(variant_params(variant, ds), indent=1, sort_keys=True))
        client.log_artifact(run_id, str(card), "model_card")
    client.set_terminated(run_id)
    return run_id


def report_json(report: Report, variant: Variant) -> dict[str, Any]:
    """The metrics as JSON (NaN written as null, which JSON has and NaN has not)."""
    return {
        "variant": variant.key,
        "dataset": report.dataset,
        "dataset_version": report.dataset_version,
        "threshold": report.threshold,
        "seconds": round(report.seconds, 3),
        "metrics": {k: (None if math.isnan(v) else v) for k, v in report.metrics.items()},
    }


@dataclass(frozen=True)
class Champion:
    dataset: str
    run_id: str
    variant: str
    dataset_version: str
    model_version: str
    metrics: dict[str, float]


def get_champion(client: MlflowClient, dataset: str) -> Champion | None:
    from mlflow.exceptions import MlflowException

    try:
        mv = client.get_model_version_by_alias(registered_model_name(dataset), CHAMPION_ALIAS)
    except MlflowException:
        return None
    run = client.get_run(mv.run_id)
    return Champion(
        dataset=dataset,
        run_id=mv.run_id,
        variant=run.data.tags.get("mugpos.variant", ""),
        dataset_version=run.data.tags.get("mugpos.dataset_version", ""),
        model_version=str(mv.version),
        metrics=dict(run.data.metrics),
    )


def promote(client: MlflowClient, dataset: str, run_id: str) -> str:
    """Register the run's model card as a new version and point the alias at it."""
    from mlflow.exceptions import MlflowException

    name = registered_model_name(dataset)
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(
            name, description=f"Champion mug detector variant on the {dataset} evaluation set."
        )
    run = client.get_run(run_id)
    previous = get_champion(client, dataset)
    mv = client.create_model_version(
        name,
        source=f"{run.info.artifact_uri}/model_card",
        run_id=run_id,
        tags={k: run.data.tags[k] for k in ("mugpos.variant", "mugpos.dataset_version")},
    )
    client.set_registered_model_alias(name, CHAMPION_ALIAS, str(mv.version))
    if previous is not None and previous.run_id != run_id:
        client.set_tag(previous.run_id, "mugpos.champion", "false")
    client.set_tag(run_id, "mugpos.champion", "true")
    return str(mv.version)


@dataclass(frozen=True)
class ServedChampion:
    """The variant the gate last promoted as a whole (on every gated set), for the manifest."""

    variant: str
    model_version: str
    run_ids: dict[str, str]
    metrics: dict[str, float]


def promote_served(
    client: MlflowClient, variant: str, run_ids: Mapping[str, str], metrics: Mapping[str, float]
) -> str:
    """Register the served variant as a new version of :data:`SERVED_MODEL` and move its
    ``champion`` alias there. Called only by the gate, after the candidate passed every set."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(SERVED_MODEL)
    except MlflowException:
        client.create_registered_model(
            SERVED_MODEL,
            description="The detector variant the positioning API serves (model, threshold, "
            "tiling); its champion alias moves only when the blocking gate passes.",
        )
    first = client.get_run(next(iter(run_ids.values())))
    mv = client.create_model_version(
        SERVED_MODEL,
        source=f"{first.info.artifact_uri}/model_card",
        run_id=first.info.run_id,
        tags={
            "mugpos.variant": variant,
            "mugpos.run_ids": json.dumps(dict(run_ids), sort_keys=True),
            "mugpos.metrics": json.dumps({k: v for k, v in metrics.items() if math.isfinite(v)}),
        },
    )
    client.set_registered_model_alias(SERVED_MODEL, CHAMPION_ALIAS, str(mv.version))
    return str(mv.version)


def get_served_champion(client: MlflowClient) -> ServedChampion | None:
    from mlflow.exceptions import MlflowException

    try:
        mv = client.get_model_version_by_alias(SERVED_MODEL, CHAMPION_ALIAS)
    except MlflowException:
        return None
    tags = mv.tags or {}
    return ServedChampion(
        variant=tags.get("mugpos.variant", ""),
        model_version=str(mv.version),
        run_ids=json.loads(tags.get("mugpos.run_ids", "{}")),
        metrics=json.loads(tags.get("mugpos.metrics", "{}")),
    )


def log_comparison(
    client: MlflowClient,
    experiment_id: str,
    dataset: str,
    child_runs: Sequence[str],
    *,
    table_md: str,
    files: Sequence[Path] = (),
    tags: Mapping[str, str] | None = None,
) -> str:
    """A parent run holding the comparison; the variants' runs become its children.

    A run already claimed by an earlier comparison keeps its parent; this comparison gets a
    child that points at it (``mugpos.source_run_id``) with the same metrics, so every parent
    shows all of its variants and no history is rewritten.
    """
    from mlflow.entities import Metric, Param

    parent = client.create_run(
        experiment_id,
        run_name=f"comparison on {dataset}",
        tags={"mugpos.kind": "comparison", "mugpos.dataset": dataset, **(tags or {})},
    )
    pid = parent.info.run_id
    for run_id in child_runs:
        run = client.get_run(run_id)
        if PARENT_TAG not in run.data.tags:
            client.set_tag(run_id, PARENT_TAG, pid)
            continue
        copy = client.create_run(
            experiment_id,
            run_name=run.info.run_name,
            tags={
                **{k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
                PARENT_TAG: pid,
                "mugpos.source_run_id": run_id,
            },
        )
        ts = copy.info.start_time
        client.log_batch(
            copy.info.run_id,
            metrics=[Metric(k, v, ts, 0) for k, v in run.data.metrics.items()],
            params=[Param(k, v) for k, v in run.data.params.items()],
        )
        client.set_terminated(copy.info.run_id)
    client.log_text(pid, table_md, "comparison.md")
    for f in files:
        client.log_artifact(pid, str(f))
    client.set_terminated(pid)
    return pid
