"""Scene analyses of a corpus shard: detections and positions of every image, as Parquet rows.

Rows are reused when the image, the detector and its version, the detector variant (threshold
and tiling) and the rule set are unchanged, so a re-run costs only what changed. The full
analysis is kept as JSON so nothing is lost; the flat columns are what the index filters and
the evaluation need.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pyarrow as pa

from mugpos.analysis import AnalysisOptions, AnalysisResult, analyze
from mugpos.batching import (
    BatchRunner,
    ImageRow,
    ModelRef,
    ProgressFn,
    decode_row,
    in_process,
    run_batches,
)
from mugpos.labels import MUG
from mugpos.models.base import Detector

# Images per batch: the in-process loop reports progress per batch; a runner ships one batch
# per call (few enough that a slow image does not hold many others back).
ANALYSIS_BATCH = 8

ANALYSES_SCHEMA = pa.schema(
    [
        ("sha256", pa.string()),
        ("shard", pa.string()),
        ("model_id", pa.string()),
        ("model_version", pa.string()),
        ("variant", pa.string()),
        ("rules_hash", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("n_mugs", pa.int32()),
        ("labels", pa.list_(pa.string())),
        ("has_mug", pa.bool_()),
        ("scene_score", pa.float64()),
        ("analysis_json", pa.string()),
    ]
)


def analysis_row(
    sha: str, shard: str, version: str, variant: str, result: AnalysisResult
) -> dict[str, object]:
    labels = sorted({d.label for d in result.detections})
    body = result.model_dump(mode="json", exclude={"embedding"})
    return {
        "sha256": sha,
        "shard": shard,
        "model_id": result.model_id,
        "model_version": version,
        "variant": variant,
        "rules_hash": result.rules_hash,
        "width": int(result.image.width),
        "height": int(result.image.height),
        "n_mugs": sum(d.label == MUG for d in result.detections),
        "labels": labels,
        "has_mug": MUG in labels,
        "scene_score": None if result.scores.scene is None else float(result.scores.scene),
        "analysis_json": json.dumps(body, sort_keys=True),
    }


def analyse_batch(
    detector: Detector, rows: Sequence[ImageRow], options: AnalysisOptions, variant: str
) -> list[dict[str, object]]:
    """One batch of images, analysed: the work a model-holding worker runs (here or on Ray)."""
    return [
        analysis_row(
            str(r["sha256"]),
            str(r["shard"]),
            detector.version,
            variant,
            analyze(decode_row(r), detector=detector, options=options),
        )
        for r in rows
    ]


def analyse_shard(
    detector: Detector | ModelRef,
    corpus: pa.Table,
    previous: pa.Table | None,
    options: AnalysisOptions,
    *,
    variant: str | None = None,
    progress: ProgressFn | None = None,
    batch_size: int = ANALYSIS_BATCH,
    runner: BatchRunner | None = None,
) -> tuple[pa.Table, int]:
    """Analyse every image of a shard; returns the table sorted by sha256 and the count computed.

    ``variant`` names how ``detector`` runs (``DetectorVariant.key``: threshold and tiling),
    so rows made by another variant are not reused. Without a ``runner`` the batches run here
    and ``detector`` must be the detector itself; with one (the Ray executor) the model lives
    in the runner's workers and ``detector`` only names it (id and version)."""
    variant = variant or detector.id
    from mugpos.rules.schema import rules_hash

    want_hash = rules_hash(options.rules)
    reuse: dict[str, dict[str, object]] = {}
    if previous is not None and previous.schema.equals(ANALYSES_SCHEMA):
        for row in previous.to_pylist():
            if (row["model_id"], row["model_version"], row["variant"], row["rules_hash"]) == (
                detector.id,
                detector.version,
                variant,
                want_hash,
            ):
                reuse[str(row["sha256"])] = row
    rows_in: Sequence[ImageRow] = corpus.select(["sha256", "shard", "path"]).to_pylist()
    todo = [r for r in rows_in if r["sha256"] not in reuse]
    if runner is None:
        if not isinstance(detector, Detector):
            raise TypeError("analyse_shard needs the detector itself when no runner is given")
        model = detector
        runner = in_process(lambda batch: analyse_batch(model, batch, options, variant))
    computed = run_batches(todo, batch_size, runner, progress)
    out = {str(row["sha256"]): row for row in computed}
    rows = [out.get(str(r["sha256"])) or reuse[str(r["sha256"])] for r in rows_in]
    rows.sort(key=lambda row: str(row["sha256"]))
    return pa.Table.from_pylist(rows, schema=ANALYSES_SCHEMA), len(todo)
