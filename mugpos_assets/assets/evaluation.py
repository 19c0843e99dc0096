"""Model evaluation per variant; with the comparison and the champion gate (eval_comparison).

* ``model_evaluation``: one partition per variant (``<detector>@<threshold>``), run on the
  device resource in the GPU pool; one MLflow run per dataset, results kept on disk for the
  comparison.
* ``model_comparison``: a Markdown table and bar charts per dataset, a parent MLflow run per
  dataset with the variants as children, and the candidate to gate.
* ``champion_gate`` (blocking): the candidate must beat or match the champion (MLflow alias)
  within a tolerance on AP@0.5, recall and rule-verdict F1; when it does, it is promoted.
  Promotion lives in the check, not the asset, so a champion only ever moves after a passing
  gate, and a failing one stops everything downstream of the comparison.
"""

import json
import math
from typing import Any

import dagster as dg
from pydantic import Field

from evaluation.dataset import load_dataset
from evaluation.harness import KEY_METRICS, evaluate
from evaluation.paths import DATASETS, dataset_dir, result_path
from evaluation.predictors import DetectorPredictor
from evaluation.variants import Variant, default_variants
from mugpos.models.catalog import CATALOG
from mugpos_assets.assets.embeddings import GPU_POOL
from mugpos_assets.assets.eval_comparison import champion_gate, model_comparison
from mugpos_assets.assets.eval_datasets import EVAL_GROUP, eval_key, run_tags
from mugpos_assets.assets.models import model_asset_key
from mugpos_assets.mlflow_resource import MlflowResource
from mugpos_assets.resources import CorpusResource, DeviceResource, ModelStoreResource

EVAL_CODE_VERSION = "1"
variant_partitions = dg.StaticPartitionsDefinition([v.key for v in default_variants()])
_DETECTOR_KEYS = [model_asset_key(s) for s in CATALOG.values() if "detect" in s.tasks]


class EvaluationConfig(dg.Config):
    """Which sets to run; missing or empty ones are skipped and listed in the metadata."""

    datasets: list[str] = Field(default_factory=lambda: list(DATASETS))


@dg.asset(
    key=eval_key("model_evaluation"),
    group_name=EVAL_GROUP,
    partitions_def=variant_partitions,
    deps=[
        *(eval_key(n) for n in ("scenes", "composites", "desk_small", "real", "coco")),
        eval_key("feedback_labels"),
        *_DETECTOR_KEYS,
    ],
    kinds={"python", "mlflow"},
    owners=["team:ml-platform"],
    pool=GPU_POOL,
    code_version=EVAL_CODE_VERSION,
    description="One model variant (detector @ score threshold) on every evaluation set, "
    "through the API's own analysis path, on the device resource: mug P/R/AP, centre error, "
    "zones, rule verdicts, suggestions, stage latencies; one MLflow run per set.",
)
def model_evaluation(
    context: dg.AssetExecutionContext,
    config: EvaluationConfig,
    corpus: CorpusResource,
    model_store: ModelStoreResource,
    device: DeviceResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    from evaluation.tracking import ensure_experiment, log_evaluation, report_json

    variant = Variant.parse(context.partition_key)
    home = corpus.settings().home
    choice = device.choose(context.log)
    # A variant whose weights cannot be had fails here with the store's "put file X at Y".
    from mugpos.models.loader import load_detector

    detector = load_detector(
        variant.model_id, settings=model_store.settings(), store=model_store.store(), device=choice
    )
    client = mlflow.client()
    meta: dict[str, Any] = {"variant": variant.key, "device": choice.name}
    skipped, tags = [], run_tags(context, EVAL_CODE_VERSION)
    for name in config.datasets:
        path = dataset_dir(home, name)
        ds = load_dataset(path) if (path / "dataset.json").is_file() else None
        if ds is None or not ds.examples:
            skipped.append(name)
            continue
        report = evaluate(ds, DetectorPredictor(detector, variant))
        exp = ensure_experiment(client, name, mlflow.resolved_artifact_root())
        run_id = log_evaluation(client, exp, variant, ds, report, tags=tags)
        out = result_path(home, variant.slug, name)
        out.parent.mkdir(parents=True, exist_ok=True)
        doc = {**report_json(report, variant), "run_id": run_id, "experiment_id": exp}
        out.write_text(json.dumps(doc, indent=1))
        context.log.info(f"{variant.key} on {name}: {_short(report.metrics)} (run {run_id})")
        for m in (*KEY_METRICS, "mug_precision", "latency_total_p95_ms"):
            if m in report.metrics and not math.isnan(report.metrics[m]):
                meta[f"{name}/{m}"] = float(report.metrics[m])
        meta[f"{name}/mlflow_run"] = mlflow.run_link(exp, run_id)
        meta[f"{name}/dataset_version"] = ds.version
    if len(skipped) == len(config.datasets):
        raise dg.Failure(f"no evaluation set found under {dataset_dir(home, '')}: materialize them")
    meta["skipped_datasets"] = ", ".join(skipped) or "—"
    return dg.MaterializeResult(metadata=meta)


def _short(m: dict[str, float]) -> str:
    return ", ".join(f"{k} {m[k]:.3f}" for k in KEY_METRICS if k in m)


evaluation_assets = [model_evaluation, model_comparison]
evaluation_checks = [champion_gate]
