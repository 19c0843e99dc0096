"""The comparison of all evaluated variants, and the blocking champion gate on it.

Promotion lives in the check, not the asset, so a champion only ever moves after a passing
gate, and a failing one stops everything downstream of the comparison.
"""

import json
import math
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from evaluation.breakdown import breakdown_table
from evaluation.gate import DEFAULT_TOLERANCE, compare, passed
from evaluation.harness import KEY_METRICS
from evaluation.paths import DATASETS, GATE_DATASETS, comparison_dir, result_path
from evaluation.variants import Variant, default_variants
from mugpos.models.variant import configured_variant
from mugpos.settings import get_settings
from mugpos_assets.assets.eval_datasets import EVAL_GROUP, eval_key, run_tags
from mugpos_assets.mlflow_resource import MlflowResource
from mugpos_assets.resources import CorpusResource

COMPARISON_CODE_VERSION = "1"


class ComparisonConfig(dg.Config):
    """``candidate``: the variant the gate judges (default: the served detector at the default
    threshold). ``tolerance``: how far below the champion a key metric may fall."""

    candidate: str = Field(default_factory=lambda: configured_variant(get_settings()).key)
    tolerance: float = DEFAULT_TOLERANCE
    gate_datasets: list[str] = Field(default_factory=lambda: list(GATE_DATASETS))


_COLUMNS = (
    ("mug_ap50", "AP@0.5"),
    ("mug_ap", "AP@[.5:.95]"),
    ("mug_precision", "P"),
    ("mug_recall", "R"),
    ("centre_error_pct", "centre err %"),
    ("zone_accuracy", "zone acc"),
    ("rule_f1", "rule F1"),
    ("suggestion_resolve_rate", "resolved"),
    ("latency_total_p50_ms", "p50 ms"),
    ("latency_total_p95_ms", "p95 ms"),
)


def _collect(home: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """dataset -> variant -> stored result, for every variant with results on disk."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for v in default_variants():
        for name in DATASETS:
            p = result_path(home, v.slug, name)
            if p.is_file():
                out.setdefault(name, {})[v.key] = json.loads(p.read_text())
    return out


def _fmt(v: Any) -> str:
    return "—" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def comparison_table(results: dict[str, dict[str, Any]], candidate: str, champion: str) -> str:
    head = "| variant | " + " | ".join(c for _, c in _COLUMNS) + " | MLflow run |"
    lines = [head, "|" + "---|" * (len(_COLUMNS) + 2)]
    for key, r in sorted(results.items()):
        role = " (candidate)" * (key == candidate) + " (champion)" * (key == champion)
        cells = " | ".join(_fmt(r["metrics"].get(m)) for m, _ in _COLUMNS)
        lines.append(f"| {key}{role} | {cells} | {r['run_id']} |")
    return "\n".join(lines)


@dg.asset(
    key=eval_key("model_comparison"),
    group_name=EVAL_GROUP,
    deps=[eval_key("model_evaluation")],
    kinds={"python", "mlflow"},
    owners=["team:ml-platform"],
    description="Every evaluated variant side by side per dataset (Markdown table and bar "
    "chart), a parent MLflow run per dataset with the variants as children, and the candidate "
    "that the champion gate judges.",
)
def model_comparison(
    context: dg.AssetExecutionContext,
    config: ComparisonConfig,
    corpus: CorpusResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    from evaluation.plots import comparison_png, png_markdown
    from evaluation.tracking import ensure_experiment, get_champion, log_comparison

    candidate = Variant.parse(config.candidate).key
    home = corpus.settings().home
    results = _collect(home)
    if not any(candidate in per for per in results.values()):
        raise dg.Failure(f"candidate {candidate} has no evaluation: materialize its partition")
    client = mlflow.client()
    out_dir = comparison_dir(home)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"candidate": candidate, "tolerance": config.tolerance}
    for name, per in results.items():
        champ = get_champion(client, name)
        table = comparison_table(per, candidate, champ.variant if champ else "")
        by_class = breakdown_table(
            {k: r["metrics"] for k, r in sorted(per.items())},
            {k: r["run_id"] for k, r in sorted(per.items())},
        )
        table = f"{table}\n\nBy class and by COCO size bucket:\n\n{by_class}"
        rows = [{"variant": k, **r["metrics"]} for k, r in sorted(per.items())]
        plot = comparison_png(rows, KEY_METRICS, out_dir / f"{name}.png", f"mug metrics: {name}")
        exp = ensure_experiment(client, name, mlflow.resolved_artifact_root())
        parent = log_comparison(
            client,
            exp,
            name,
            [r["run_id"] for r in per.values()],
            table_md=table,
            files=[plot],
            tags=run_tags(context, COMPARISON_CODE_VERSION),
        )
        meta[f"{name}/table"] = dg.MetadataValue.md(
            f"{table}\n\n{png_markdown(plot, f'{name} comparison')}"
        )
        meta[f"{name}/mlflow_parent_run"] = mlflow.run_link(exp, parent)
        meta[f"{name}/champion"] = champ.variant if champ else "none yet"
    doc = {
        "candidate": candidate,
        "tolerance": config.tolerance,
        "gate_datasets": list(config.gate_datasets),
        "dagster_run_id": context.run.run_id,
        "results": results,
    }
    (out_dir / "comparison.json").write_text(json.dumps(doc, indent=1))
    return dg.MaterializeResult(metadata=meta)


def champion_metrics(
    champ: Any, per: dict[str, dict[str, Any]], version: str
) -> tuple[dict[str, float] | None, str]:
    """The champion's numbers on the candidate's data: from this comparison when its variant
    was evaluated on the same dataset version (fresh, same images), else from its MLflow run
    when that used the same version; otherwise there is nothing fair to compare with."""
    mine = per.get(champ.variant)
    if mine is not None and mine["dataset_version"] == version:
        return _floats(mine["metrics"]), "this comparison"
    if champ.dataset_version == version:
        return champ.metrics, f"MLflow run {champ.run_id}"
    return None, f"champion evaluated on dataset version {champ.dataset_version}, not {version}"


def _floats(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: math.nan if v is None else float(v) for k, v in metrics.items()}


@dg.asset_check(
    asset=model_comparison,
    blocking=True,
    description="The candidate beats or matches the champion (MLflow alias 'champion') on "
    "AP@0.5, recall and rule-verdict F1 of every gated set, within the tolerance; on a pass "
    "the candidate becomes the champion of each set and the served champion "
    "(registered model mugpos-detector), which the model manifest then names.",
)
def champion_gate(corpus: CorpusResource, mlflow: MlflowResource) -> dg.AssetCheckResult:
    from evaluation.tracking import get_champion, promote, promote_served

    doc = json.loads((comparison_dir(corpus.settings().home) / "comparison.json").read_text())
    candidate, tol = doc["candidate"], float(doc["tolerance"])
    client = mlflow.client()
    cand: dict[str, dict[str, float]] = {}
    champs: dict[str, dict[str, float]] = {}
    notes, problems = [], []
    for name in doc["gate_datasets"]:
        per = doc["results"].get(name, {})
        if candidate not in per:
            continue
        cand[name] = _floats(per[candidate]["metrics"])
        champ = get_champion(client, name)
        if champ is None:
            notes.append(f"{name}: no champion yet")
            continue
        numbers, source = champion_metrics(champ, per, per[candidate]["dataset_version"])
        notes.append(f"{name}: champion {champ.variant} ({source})")
        if numbers is None:
            problems.append(f"{name}: {source}; evaluate {champ.variant} in this comparison")
        else:
            champs[name] = numbers
    findings = compare(cand, champs, tolerance=tol)
    ok = passed(findings) and not problems and bool(cand)
    promoted: dict[str, str] = {}
    if ok:
        run_ids = {name: doc["results"][name][candidate]["run_id"] for name in cand}
        for name, run_id in run_ids.items():
            promoted[name] = promote(client, name, run_id)
        summary = {f"{n}/{m}": cand[n].get(m, math.nan) for n in cand for m in KEY_METRICS}
        promoted["served"] = promote_served(client, candidate, run_ids, summary)
    report = "\n".join(f"- {f.line()}" for f in findings) or "- nothing to compare"
    return dg.AssetCheckResult(
        passed=ok,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "candidate": candidate,
            "tolerance": tol,
            "findings": dg.MetadataValue.md(report),
            "regressions": sum(not f.ok for f in findings),
            "notes": "; ".join(notes + problems) or "—",
            "promoted": dg.MetadataValue.json(promoted),
        },
    )
