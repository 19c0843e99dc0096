"""The by-class and by-size table of a comparison: one row per variant, for one dataset.

Shared by the comparison asset (Dagster metadata and the MLflow parent run's ``comparison.md``)
and the benchmark CLI (docs/evaluation.md), so every place shows the same cells.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from evaluation.class_metrics import EVAL_LABELS, SIZE_BUCKETS


def breakdown_columns(metrics: Sequence[Mapping[str, float | None]]) -> list[tuple[str, str]]:
    """(metric key, header) for every class and size bucket that has ground truth."""
    cols: list[tuple[str, str]] = []

    def has(key: str) -> bool:
        return any((m.get(key) or 0) > 0 for m in metrics)

    for label in EVAL_LABELS:
        if not has(f"{label}_gt"):
            continue
        cols += [
            (f"{label}_ap50", f"{label} AP50"),
            (f"{label}_ap", f"{label} AP"),
            (f"{label}_recall", f"{label} R"),
            (f"{label}_precision", f"{label} P"),
        ]
        if label != "mug":
            continue
        for b in SIZE_BUCKETS:
            if has(f"mug_{b}_gt"):
                cols += [
                    (f"mug_{b}_ap50", f"mug {b} AP50"),
                    (f"mug_{b}_ap", f"mug {b} AP"),
                    (f"mug_{b}_recall", f"mug {b} R"),
                ]
    return cols


def breakdown_table(
    rows: Mapping[str, Mapping[str, float | None]], run_ids: Mapping[str, str] | None = None
) -> str:
    """Markdown: variant, then per class AP@0.5 / AP@[.5:.95] / recall / precision, then the
    mug figures per COCO size bucket; ``—`` where a value is undefined."""
    cols = breakdown_columns(list(rows.values()))
    head = ["variant", *(h for _, h in cols)] + (["MLflow run"] if run_ids else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for variant, m in rows.items():
        cells = [_fmt(m.get(k)) for k, _ in cols]
        tail = [run_ids.get(variant, "—")] if run_ids else []
        lines.append("| " + " | ".join([variant, *cells, *tail]) + " |")
    return "\n".join(lines)


def _fmt(v: float | None) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"
