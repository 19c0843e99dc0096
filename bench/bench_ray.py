"""Analyses + embeddings of one 1,000-image shard: in-process vs the Ray executor, in one run.

    .venv/bin/python bench/bench_ray.py [--images 1000] [--rounds 1] [--workdir DIR]

Both contenders are what a user materializes: ``scene_analyses`` then ``image_embeddings`` of
one shard through ``dg.materialize``, from an empty output (every image computed), with the
offline SSD and the configured detector variant. The Ray contender runs against a local head
started here with ``--num-cpus 2`` (so both use the same 2 cores), one actor per CPU; its time
includes connecting, starting the actors and loading the model in each. The shard is
generated desk scenes (640x480 JPEG); its table is written directly (ingest is not timed).
Rounds alternate in-process and Ray; outputs are compared row by row at the end.

``--ray-data`` adds a third contender: the same engine batches through Ray Data
(``map_batches`` over a pool of the same model-holding workers, order preserved), timed for
the compute alone (no Dagster step around it), so it can be weighed against the actors that
the executor uses.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _common import command_line, machine, markdown_table, offline_env

offline_env()

from evaluation.scenes import generate_scene  # noqa: E402
from mugpos.analysis import AnalysisOptions  # noqa: E402
from mugpos.corpus import CORPUS_SCHEMA, CorpusLayout, write_table  # noqa: E402
from mugpos.embeddings import vectors_of  # noqa: E402
from mugpos.images import encode_jpeg, sha256_bytes  # noqa: E402
from mugpos.models.loader import load_detector  # noqa: E402
from mugpos.models.variant import configured_variant  # noqa: E402
from mugpos.rules.repository import RuleRepository  # noqa: E402
from mugpos.scene_analyses import ANALYSIS_BATCH  # noqa: E402
from mugpos.settings import Settings  # noqa: E402
from mugpos_assets.assets.analyses import scene_analyses  # noqa: E402
from mugpos_assets.assets.embeddings import image_embeddings  # noqa: E402
from mugpos_assets.ray_local import local_ray_head  # noqa: E402
from mugpos_assets.ray_worker import ModelWorker, WorkerSpec  # noqa: E402
from mugpos_assets.resources import (  # noqa: E402
    CorpusResource,
    DeviceResource,
    DocumentStoreResource,
    ModelStoreResource,
)

SHARD = "0"
SSD = "ssd-mobilenetv2-oidv4"


def build_shard(root: Path, n: int) -> pa.Table:
    """``n`` generated scenes as the corpus table of one shard (all rows in SHARD)."""
    layout = CorpusLayout(root / "corpus")
    rows = []
    for seed in range(n):
        data = encode_jpeg(generate_scene(seed).image, quality=90)
        sha = sha256_bytes(data)
        path = layout.image_path(sha, "JPEG")
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        rows.append(
            {
                "sha256": sha, "shard": SHARD, "source_key": f"scene-{seed:05d}.jpg",
                "duplicate_keys": [], "path": str(path), "format": "JPEG", "width": 640,
                "height": 480, "bytes": len(data), "source_mode": "RGB", "frames": 1,
            }
        )  # fmt: skip
    rows.sort(key=lambda r: r["sha256"])
    return pa.Table.from_pylist(rows, schema=CORPUS_SCHEMA)


def home_with(corpus: pa.Table, root: Path, name: str) -> Path:
    home = root / name
    shutil.rmtree(home, ignore_errors=True)
    write_table(corpus, CorpusLayout(home / "corpus").shard_table(SHARD))
    return home


def materialize(home: Path, models: Path, **device: object) -> dict[str, float]:
    res = {
        "model_store": ModelStoreResource(home=str(models), offline=True),
        "device": DeviceResource(**device),  # type: ignore[arg-type]
        "corpus": CorpusResource(home=str(home)),
        "documents": DocumentStoreResource(home=str(home)),
    }
    seconds = {}
    for asset in (scene_analyses, image_embeddings):
        t0 = time.perf_counter()
        result = dg.materialize([asset], resources=res, partition_key=SHARD)
        seconds[asset.key.to_user_string()] = time.perf_counter() - t0
        assert result.success
    return seconds


class DataStage:
    """A Ray Data ``map_batches`` stage around the executor's own worker: one model per actor."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.task = spec.task
        self.worker = ModelWorker(spec)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[object]]:
        rows = [
            {"sha256": str(sha), "shard": SHARD, "path": str(path), "data": bytes(data)}
            for sha, path, data in zip(batch["sha256"], batch["path"], batch["data"], strict=True)
        ]
        out = self.worker.run(rows)
        if self.task == "analyses":
            return {"row": [json.dumps(r) for r in out]}
        return {"vector": [np.asarray(v, dtype=np.float32) for v in out]}


def ray_data(corpus: pa.Table, home: Path, models: Path, address: str) -> dict[str, object]:
    """Both tasks through Ray Data on the running head: seconds per task and the outputs."""
    import ray

    settings = ModelStoreResource(home=str(models), offline=True).settings()
    variant = configured_variant(settings)
    with DocumentStoreResource(home=str(home)).open() as store:
        options = AnalysisOptions(
            rules=RuleRepository(store).rule_set().rules, score_threshold=variant.threshold
        )
    items = [
        {"sha256": r["sha256"], "path": r["path"], "data": Path(r["path"]).read_bytes()}
        for r in corpus.to_pylist()
    ]
    ray.init(address=address, namespace="mugpos-bench", logging_level="WARNING")
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        out: dict[str, object] = {}
        specs = {
            "scene_analyses": (
                WorkerSpec(task="analyses", settings=settings, device_preference="cpu",
                           variant=variant.key, options=options, num_threads=1),
                ANALYSIS_BATCH,
            ),
            "image_embeddings": (
                WorkerSpec(task="embeddings", settings=settings, device_preference="cpu",
                           num_threads=1),
                8,  # the CPU device's default batch (mugpos.device.choose_device)
            ),
        }  # fmt: skip
        for key, (spec, batch) in specs.items():
            t0 = time.perf_counter()
            ds = ray.data.from_items(items).map_batches(
                DataStage, fn_constructor_args=(spec,), batch_size=batch, batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=2), num_cpus=1,
            )  # fmt: skip
            out[key] = ds.take_all()
            out[f"{key}_s"] = time.perf_counter() - t0
        return out
    finally:
        ray.shutdown()


def same_as_data(home: Path, data: dict[str, object]) -> str:
    """Ray Data's rows against the in-process Parquet files (stage timings left out)."""
    ref = pq.read_table(home / "analyses" / SSD / f"{SHARD}.parquet").to_pylist()
    got = [json.loads(str(r["row"])) for r in data["scene_analyses"]]  # type: ignore[attr-defined]

    def strip(rows: list[dict[str, object]]) -> list[dict[str, object]]:
        for r in rows:
            parsed = json.loads(str(r["analysis_json"]))
            parsed.pop("timings_ms")
            r["analysis_json"] = parsed
        return sorted(rows, key=lambda r: str(r["sha256"]))

    vectors = np.stack([r["vector"] for r in data["image_embeddings"]])  # type: ignore[attr-defined]
    want = vectors_of(pq.read_table(home / "embeddings" / SSD / f"{SHARD}.parquet"))
    return (
        f"Ray Data analyses rows identical: {strip(got) == strip(ref)}; embeddings identical: "
        f"{bool(np.array_equal(vectors, want))}"
    )


def same_outputs(a: Path, b: Path) -> str:
    def rows(home: Path) -> list[dict[str, object]]:
        out = pq.read_table(home / "analyses" / SSD / f"{SHARD}.parquet").to_pylist()
        for r in out:
            r["analysis_json"] = json.loads(str(r["analysis_json"]))
            r["analysis_json"].pop("timings_ms")  # wall clock
        return out

    def vectors(home: Path) -> np.ndarray:
        return vectors_of(pq.read_table(home / "embeddings" / SSD / f"{SHARD}.parquet"))

    va, vb = vectors(a), vectors(b)
    cos = (va * vb).sum(1) / (np.linalg.norm(va, axis=1) * np.linalg.norm(vb, axis=1))
    return (
        f"analyses rows identical: {rows(a) == rows(b)}; embeddings identical: "
        f"{bool(np.array_equal(va, vb))} (min cosine {cos.min():.6f})"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=1, help="in-process/Ray pairs, alternated")
    ap.add_argument("--workdir", type=Path, default=None, help="keeps the shard between runs")
    ap.add_argument("--ray-data", action="store_true", help="also time Ray Data's map_batches")
    args = ap.parse_args()

    root = args.workdir or Path(tempfile.mkdtemp(prefix="bench-ray-"))
    models = root / "models-home"
    load_detector(SSD, settings=Settings(home=models))  # fetch the offline model once
    t0 = time.perf_counter()
    corpus = build_shard(root / "images", args.images)
    print(f"shard of {corpus.num_rows} scenes ready in {time.perf_counter() - t0:.1f} s")

    timings: dict[str, list[dict[str, float]]] = {"inprocess": [], "ray": [], "ray_data": []}
    data: dict[str, object] = {}
    with local_ray_head(num_cpus=2) as address:
        for _ in range(args.rounds):
            home_in = home_with(corpus, root, "inprocess")
            timings["inprocess"].append(materialize(home_in, models))
            home_ray = home_with(corpus, root, "ray")
            timings["ray"].append(
                materialize(home_ray, models, executor="ray", ray_address=address)
            )
            if args.ray_data:
                data = ray_data(corpus, home_ray, models, address)
                timings["ray_data"].append(
                    {k: float(data[f"{k}_s"]) for k in ("scene_analyses", "image_embeddings")}  # type: ignore[arg-type]
                )
    n = corpus.num_rows

    def best(kind: str, key: str | None = None) -> float:
        return min(sum(t.values()) if key is None else t[key] for t in timings[kind])

    rows = []
    for key in ("scene_analyses", "image_embeddings", None):
        a, r = best("inprocess", key), best("ray", key)
        ratio = f"{r / a:.2f}x"
        rows.append([key or "both", f"{a:.1f}", f"{n / a:.1f}", f"{r:.1f}", f"{n / r:.1f}", ratio])
    print()
    print(f"`{command_line()}`: {machine()}, {n} images, {args.rounds} round(s), best of each")
    print()
    print(
        markdown_table(
            ["asset", "in-process s", "images/s", "Ray s", "images/s", "Ray / in-process"], rows
        )
    )
    if args.ray_data:
        print()
        data_rows = []
        for key in ("scene_analyses", "image_embeddings", None):
            a, d = best("ray", key), best("ray_data", key)
            data_rows.append(
                [key or "both", f"{a:.1f}", f"{d:.1f}", f"{n / d:.1f}", f"{d / a:.2f}x"]
            )
        print(
            markdown_table(
                ["asset", "Ray actors s (whole step)", "Ray Data s (compute only)", "images/s",
                 "Ray Data / actors"],
                data_rows,
            )
        )  # fmt: skip
    for i, (a_run, r_run) in enumerate(zip(timings["inprocess"], timings["ray"], strict=True)):
        a, r = sum(a_run.values()), sum(r_run.values())
        print(f"round {i + 1}: in-process {a:.1f} s, Ray {r:.1f} s, Ray / in-process {r / a:.2f}x")
    print()
    print(same_outputs(root / "inprocess", root / "ray"))
    if args.ray_data:
        print(same_as_data(root / "inprocess", data))
    if args.workdir is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
