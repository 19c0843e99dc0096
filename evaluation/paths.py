"""Where evaluation state lives under a MUGPOS home (shared by the assets and the CLI)."""

from __future__ import annotations

from pathlib import Path

# Sets the evaluation asset knows, in the order reports list them.
DATASETS = ("scenes", "composites", "desk_small", "real", "coco", "feedback")
# Sets the champion gate judges by default (the user and feedback sets vary with who has what).
GATE_DATASETS = ("scenes", "composites", "desk_small", "real")


def eval_root(home: Path) -> Path:
    return Path(home) / "evaluation"


def dataset_dir(home: Path, name: str) -> Path:
    return eval_root(home) / "datasets" / name


def result_path(home: Path, variant_slug: str, dataset: str) -> Path:
    """One variant's latest result on one set (metrics, MLflow run id)."""
    return eval_root(home) / "results" / variant_slug / f"{dataset}.json"


def comparison_dir(home: Path) -> Path:
    return eval_root(home) / "comparison"
