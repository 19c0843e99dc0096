"""PNG figures for MLflow artifacts and Dagster metadata: PR curve, worst-case gallery, bars.

matplotlib runs on the Agg backend (no display); images are drawn with Pillow, which is much
faster than matplotlib for boxes on photos.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from evaluation.dataset import EvalDataset
from evaluation.harness import Report

GT_COLOUR, PRED_COLOUR = (40, 220, 60), (235, 40, 40)


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pr_curve_png(report: Report, path: Path) -> Path:
    """Interpolated precision vs recall at IoU 0.5 (COCO's curve), the operating point marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    c = report.coco
    if c.recall_points:
        ys = [0.0 if math.isnan(p) else p for p in c.precision_at_50]
        ax.plot(c.recall_points, ys, lw=2, label=f"AP@0.5 = {c.ap50:.3f}")
    p, r = report.metrics.get("mug_precision", math.nan), report.metrics.get("mug_recall", math.nan)
    if not (math.isnan(p) or math.isnan(r)):
        ax.scatter([r], [p], color="red", zorder=3, label=f"threshold {report.threshold:g}")
    ax.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="recall", ylabel="precision")
    ax.set_title(f"{report.predictor} on {report.dataset} (mug, IoU 0.5)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def worst_cases(report: Report, k: int = 6) -> list[int]:
    """Indices of the k worst images: most misses + false alarms, then the loosest boxes."""

    def badness(i: int) -> tuple[float, float]:
        r = report.records[i]
        iou = r["mean_iou"]
        return (-(r["fp"] + r["fn"]), 0.0 if math.isnan(iou) else iou)

    bad = [i for i, r in enumerate(report.records) if r["fp"] + r["fn"] or r["tp"]]
    return sorted(bad, key=badness)[:k]


def gallery_png(ds: EvalDataset, report: Report, path: Path, k: int = 6, thumb: int = 320) -> Path:
    """The worst cases side by side: ground truth green, predicted mugs red with scores."""
    picks = worst_cases(report, k) or list(range(min(k, len(ds.examples))))
    tiles = [_tile(ds, report, i, thumb) for i in picks]
    cols = min(3, max(1, len(tiles)))
    rows = max(1, math.ceil(len(tiles) / cols))
    th = max((t.height for t in tiles), default=thumb)
    sheet = Image.new("RGB", (cols * thumb, rows * th), (255, 255, 255))
    for n, t in enumerate(tiles):
        sheet.paste(t, ((n % cols) * thumb, (n // cols) * th))
    sheet.save(path)
    return path


def _tile(ds: EvalDataset, report: Report, i: int, thumb: int) -> Image.Image:
    ex, rec = ds.examples[i], report.records[i]
    s = thumb / ex.width
    img = Image.fromarray(ex.image).resize((thumb, max(1, round(ex.height * s))))
    draw = ImageDraw.Draw(img)
    for b in json.loads(rec["gt_boxes"]):
        draw.rectangle([v * s for v in b], outline=GT_COLOUR, width=2)
    for *b, score in json.loads(rec["pred_boxes"]):
        draw.rectangle([v * s for v in b], outline=PRED_COLOUR, width=2)
        draw.text((b[0] * s + 2, b[1] * s + 1), f"{score:.2f}", fill=PRED_COLOUR)
    caption = f"{ex.id}  tp {rec['tp']} fp {rec['fp']} fn {rec['fn']}"
    draw.rectangle((0, img.height - 13, thumb, img.height), fill=(0, 0, 0))
    draw.text((3, img.height - 12), caption, fill=(255, 255, 255))
    return img


def comparison_png(
    rows: Sequence[Mapping[str, Any]], metrics: Sequence[str], path: Path, title: str
) -> Path:
    """Grouped bars: one group per metric, one bar per variant (NaN drawn as absent)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(metrics) + 2), 3.6), dpi=100)
    n = max(1, len(rows))
    width = 0.8 / n
    for j, row in enumerate(rows):
        values = [float(row.get(m, math.nan)) for m in metrics]
        xs = [i + j * width - 0.4 + width / 2 for i in range(len(metrics))]
        ax.bar(xs, [0 if math.isnan(v) else v for v in values], width, label=str(row["variant"]))
    ax.set_xticks(range(len(metrics)), metrics, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def png_markdown(path: Path, alt: str) -> str:
    """A Markdown image with the PNG inlined (Dagster's UI renders it without file access)."""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f"![{alt}](data:image/png;base64,{data})"
