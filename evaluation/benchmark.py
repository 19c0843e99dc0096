"""Benchmark CLI: build the sets, evaluate variants, log to MLflow, print the table.

    python -m evaluation.benchmark --home .mugpos [--variants ssd-mobilenetv2-oidv4@0.3+tiled ...]

The same harness and MLflow layout as the Dagster assets (runs are tagged
``mugpos.source=benchmark-cli`` instead of a Dagster run id), for numbers in docs and for
engineers without a Dagster instance at hand. MLflow defaults to ``sqlite:///<home>/mlflow.db``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from evaluation.breakdown import breakdown_table
from evaluation.composite import build_composite_dataset
from evaluation.dataset import EvalDataset, save_dataset
from evaluation.desk_composites import build_desk_dataset
from evaluation.harness import evaluate
from evaluation.paths import dataset_dir
from evaluation.predictors import DetectorPredictor
from evaluation.real_photos import build_real_dataset
from evaluation.scene_set import build_scene_dataset
from evaluation.variants import Variant

COLUMNS = (
    "mug_ap50", "mug_ap", "mug_precision", "mug_recall", "centre_error_pct", "zone_accuracy",
    "rule_f1", "suggestion_resolve_rate", "latency_detect_p50_ms", "latency_total_p95_ms",
)  # fmt: skip
DEFAULT_VARIANTS = (
    "ssd-mobilenetv2-oidv4@0.3",
    "ssd-mobilenetv2-oidv4@0.3+tiled",
    "ssd-mobilenetv2-oidv4@0.3+tiled-fine",
    "ssd-mobilenetv2-oidv4@0.4+tiled-fine",
)
SETS = ("scenes", "composites", "desk_small", "real")


def build_sets(
    n_scenes: int, n_composites: int, n_desk: int = 48, names: Sequence[str] = SETS
) -> list[EvalDataset]:
    from evaluation.sources import SourceCache
    from mugpos.settings import get_settings

    builders = {
        "scenes": lambda: build_scene_dataset(n_scenes),
        "composites": lambda: build_composite_dataset(n_composites),
        "desk_small": lambda: build_desk_dataset(
            n_desk, cache=SourceCache.from_settings(get_settings())
        ),
        "real": build_real_dataset,
    }
    return [builders[n]() for n in names]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, default=Path(".mugpos"))
    ap.add_argument("--tracking-uri", default=None, help="default sqlite:///<home>/mlflow.db")
    ap.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS))
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    ap.add_argument("--scenes", type=int, default=40)
    ap.add_argument("--composites", type=int, default=40)
    ap.add_argument("--desk", type=int, default=48)
    args = ap.parse_args(argv)

    from mlflow import MlflowClient

    from evaluation.tracking import ensure_experiment, log_comparison, log_evaluation
    from mugpos.models.loader import load_detector
    from mugpos.settings import Settings

    home = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    uri = args.tracking_uri or f"sqlite:///{home / 'mlflow.db'}"
    artifacts = (home / "mlartifacts").as_uri() if uri.startswith("sqlite:") else None
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    sets = build_sets(args.scenes, args.composites, args.desk, args.sets)
    for ds in sets:
        save_dataset(ds, dataset_dir(home, ds.name))
    settings = Settings(home=home)
    print(f"tracking {uri}\n")
    print("| variant | dataset (version, images, mugs) | " + " | ".join(COLUMNS) + " | run id |")
    print("|---" * (len(COLUMNS) + 3) + "|")
    metrics: dict[str, dict[str, dict[str, float]]] = {ds.name: {} for ds in sets}
    runs: dict[str, dict[str, str]] = {ds.name: {} for ds in sets}
    detectors: dict[str, object] = {}
    for key in args.variants:
        variant = Variant.parse(key)
        if variant.model_id not in detectors:
            detectors[variant.model_id] = load_detector(variant.model_id, settings=settings)
        for ds in sets:
            report = evaluate(ds, DetectorPredictor(detectors[variant.model_id], variant))
            exp = ensure_experiment(client, ds.name, artifacts)
            tags = {"mugpos.source": "benchmark-cli"}
            run_id = log_evaluation(client, exp, variant, ds, report, tags=tags)
            metrics[ds.name][variant.key], runs[ds.name][variant.key] = report.metrics, run_id
            cells = " | ".join(_fmt(report.metrics.get(c, math.nan)) for c in COLUMNS)
            where = f"{ds.name} ({ds.version}, {len(ds.examples)}, {ds.n_mugs})"
            print(f"| {variant.key} | {where} | {cells} | {run_id} |", flush=True)
    # One comparison per dataset: a parent run with the variants as children and the table.
    for ds in sets:
        table = breakdown_table(metrics[ds.name], runs[ds.name])
        exp = ensure_experiment(client, ds.name, artifacts)
        parent = log_comparison(
            client,
            exp,
            ds.name,
            list(runs[ds.name].values()),
            table_md=table,
            tags={"mugpos.source": "benchmark-cli"},
        )
        print(f"\n### {ds.name} ({ds.version}): by class and size, comparison run {parent}\n")
        print(table, flush=True)
    return 0


def _fmt(v: float) -> str:
    return "—" if math.isnan(v) else f"{v:.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
