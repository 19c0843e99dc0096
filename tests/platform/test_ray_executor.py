"""The Ray executor of the batch assets against a real local Ray head (2 CPUs, 127.0.0.1).

One shard is materialized in-process and on Ray and compared row by row; then a Ray actor is
killed mid-shard: the asset fails, no output appears, and the rerun writes the same rows.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaluation.scenes import generate_scene
from mugpos.corpus import write_table
from mugpos.embeddings import vectors_of
from mugpos.images import encode_jpeg, sha256_bytes
from mugpos.samples import sample_photo
from mugpos_assets.assets.analyses import scene_analyses
from mugpos_assets.assets.corpus import image_corpus
from mugpos_assets.assets.embeddings import image_embeddings
from mugpos_assets.ray_executor import actor_settings
from mugpos_assets.ray_local import local_ray_head
from mugpos_assets.resources import (
    CorpusResource,
    DeviceResource,
    DocumentStoreResource,
    ModelStoreResource,
)

SSD = "ssd-mobilenetv2-oidv4"
SHARD = "0"
IMAGES = 16  # two analysis batches of 8, eight embedding batches of 2
ASSETS = [scene_analyses, image_embeddings]


@pytest.fixture(scope="module")
def ray_address(free_port: Callable[[], int]) -> Iterator[str]:
    with local_ray_head(num_cpus=2, free_port=free_port) as address:
        yield address


def shard_images(inbox: Path, n: int) -> None:
    """``n`` distinct images whose bytes hash into SHARD: a few pictures, flipped and
    re-encoded at several qualities (cheap: an encode takes a few ms)."""
    inbox.mkdir(parents=True, exist_ok=True)
    # Halved, so one detector pass per image (no tiles): the coffee photo (a mug the SSD finds)
    # and three generated desks.
    bases = [sample_photo("coffee")] + [generate_scene(seed).image for seed in range(3)]
    bases = [b[::2, ::2] for b in bases]
    found = 0
    for quality in range(70, 96):
        for flip in range(4):
            for i, base in enumerate(bases):
                pixels = base[:, ::-1] if flip & 1 else base
                pixels = pixels[::-1] if flip & 2 else pixels
                data = encode_jpeg(np.ascontiguousarray(pixels), quality=quality)
                if sha256_bytes(data)[0] == SHARD:
                    (inbox / f"image-{i}-{flip}-{quality}.jpg").write_bytes(data)
                    found += 1
                    if found == n:
                        return
    raise AssertionError(f"only {found} images hash into shard {SHARD}")


def resources(home: Path, models: Path, **device: object) -> dict[str, object]:
    return {
        "model_store": ModelStoreResource(home=str(models), offline=True),
        "device": DeviceResource(preference="cpu", batch_size=2, **device),  # type: ignore[arg-type]
        "corpus": CorpusResource(home=str(home)),
        "documents": DocumentStoreResource(home=str(home)),
    }


def outputs(home: Path) -> tuple[Path, Path]:
    return (
        home / "analyses" / SSD / f"{SHARD}.parquet",
        home / "embeddings" / SSD / f"{SHARD}.parquet",
    )


def metadata(result: dg.ExecuteInProcessResult, key: str) -> dict[str, object]:
    ev = [
        e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key
    ]
    return {k: v.value for k, v in ev[-1].materialization.metadata.items()}


@pytest.fixture(scope="module")
def inprocess(
    tmp_path_factory: pytest.TempPathFactory, shared_home: Path, ssd
) -> tuple[Path, pa.Table, pa.Table]:  # type: ignore[no-untyped-def]
    """A home with one ingested shard and its in-process outputs (the reference)."""
    home = tmp_path_factory.mktemp("ray-executor")
    shard_images(home / "inbox", IMAGES)
    res = resources(home, shared_home)
    assert dg.materialize([image_corpus], resources=res, partition_key=SHARD).success
    result = dg.materialize(ASSETS, resources=res, partition_key=SHARD)
    assert result.success
    assert metadata(result, "scene_analyses")["executor"] == "inprocess"
    analyses, embeddings = (pq.read_table(p) for p in outputs(home))
    assert analyses.num_rows == embeddings.num_rows == IMAGES
    assert sum(analyses.column("n_mugs").to_pylist()) > 0  # rows with detections to compare
    return home, analyses, embeddings


def comparable(table: pa.Table) -> list[dict[str, object]]:
    """Rows as dicts with the analysis parsed and its stage timings (wall clock) left out."""
    rows = table.to_pylist()
    for row in rows:
        row["analysis_json"] = json.loads(str(row["analysis_json"]))
        row["analysis_json"].pop("timings_ms")
    return rows


def assert_same_rows(home: Path, analyses: pa.Table, embeddings: pa.Table) -> None:
    got_analyses, got_embeddings = (pq.read_table(p) for p in outputs(home))
    assert got_analyses.drop_columns(["analysis_json"]).equals(
        analyses.drop_columns(["analysis_json"])
    )
    for got, want in zip(comparable(got_analyses), comparable(analyses), strict=True):
        assert got == want  # same detections, positions, moves and scores, row by row
    assert got_embeddings.drop_columns(["vector"]).equals(embeddings.drop_columns(["vector"]))
    a, b = vectors_of(got_embeddings), vectors_of(embeddings)
    cosine = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cosine.min() >= 0.99999, cosine.min()


def clear_outputs(home: Path) -> None:
    for path in outputs(home):
        path.unlink(missing_ok=True)


@pytest.mark.slow
def test_ray_rows_match_inprocess(inprocess, ray_address: str, shared_home: Path) -> None:  # type: ignore[no-untyped-def]
    home, analyses, embeddings = inprocess
    clear_outputs(home)
    res = resources(home, shared_home, executor="ray", ray_address=ray_address)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(ASSETS, resources=res, partition_key=SHARD, instance=instance)
    assert result.success
    assert_same_rows(home, analyses, embeddings)
    for key in ("scene_analyses", "image_embeddings"):
        meta = metadata(result, key)
        assert meta["executor"] == "ray" and meta["ray_address"] == ray_address
        assert meta["ray_actors"] == 2 and meta["computed"] == IMAGES
        assert float(meta["images_per_s"]) > 0  # type: ignore[arg-type]
    assert metadata(result, "image_embeddings")["batch_size"] == 2
    logs = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any("2 ray actor(s) at" in m for m in logs), "actor start-up reaches the Dagster log"
    assert any(f"analysed {IMAGES}/{IMAGES} images" in m for m in logs)  # progress per batch


class ActorKiller(threading.Thread):
    """SIGKILLs the first model actor of the test's head seen running a batch."""

    def __init__(self, raylet: int) -> None:
        super().__init__(daemon=True)
        self.raylet = raylet
        self.killed: int | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for p in psutil.process_iter(["cmdline"]):
                try:
                    busy = "ray::ModelWorker.run" in " ".join(p.info["cmdline"] or [])
                    if busy and p.ppid() == self.raylet:  # a worker of this test's head
                        os.kill(p.pid, signal.SIGKILL)
                        self.killed = p.pid
                        return
                except (ProcessLookupError, psutil.Error):
                    continue
            time.sleep(0.01)


def raylet_of(address: str) -> int:
    """The pid of the raylet of the head at ``address`` (workers are its children, each in a
    session of its own)."""
    port = address.rsplit(":", 1)[1]
    procs = list(psutil.process_iter(["cmdline", "name"]))
    gcs = next(
        p
        for p in procs
        if p.info["name"] == "gcs_server" and f"--gcs_server_port={port}" in p.info["cmdline"]
    )
    pgid = os.getpgid(gcs.pid)
    return next(p.pid for p in procs if p.info["name"] == "raylet" and os.getpgid(p.pid) == pgid)


@pytest.mark.slow
def test_killed_actor_leaves_no_output_and_rerun_completes(
    inprocess, ray_address: str, shared_home: Path
) -> None:  # type: ignore[no-untyped-def]
    home, analyses, _embeddings = inprocess
    analyses_out, _ = outputs(home)
    analyses_out.unlink(missing_ok=True)
    res = resources(home, shared_home, executor="ray", ray_address=ray_address)
    killer = ActorKiller(raylet_of(ray_address))
    killer.start()
    try:
        failed = dg.materialize(
            [scene_analyses], resources=res, partition_key=SHARD, raise_on_error=False
        )
    finally:
        killer.stop.set()
        killer.join()
    assert killer.killed is not None, "no actor was seen running a batch"
    assert not failed.success
    failure = next(e for e in failed.all_events if e.is_step_failure)
    assert "died mid-shard" in str(failure.event_specific_data.error.message)  # type: ignore[union-attr]
    assert not analyses_out.exists()  # nothing half-written, not even a partial file
    assert not any(analyses_out.parent.glob(f".{analyses_out.name}*"))
    rerun = dg.materialize([scene_analyses], resources=res, partition_key=SHARD)
    assert rerun.success
    assert metadata(rerun, "scene_analyses")["computed"] == IMAGES
    got = pq.read_table(analyses_out)
    assert got.drop_columns(["analysis_json"]).equals(analyses.drop_columns(["analysis_json"]))
    assert comparable(got) == comparable(analyses)


def test_executor_settings_and_what_actors_are_sent(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mugpos.settings import Settings, get_settings

    assert DeviceResource().executor_config().kind == "inprocess"  # the default, as before
    monkeypatch.setenv("MUGPOS_EXECUTOR", "ray")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValueError, match="MUGPOS_RAY_ADDRESS"):
            DeviceResource().executor_config()
        monkeypatch.setenv("MUGPOS_RAY_ADDRESS", "ray://head:10001")
        monkeypatch.setenv("MUGPOS_RAY_GPUS_PER_ACTOR", "1")
        get_settings.cache_clear()  # settings are read once per process
        cfg = DeviceResource().executor_config()
        assert (cfg.kind, cfg.ray_address, cfg.gpus_per_actor) == ("ray", "ray://head:10001", 1)
        assert DeviceResource(executor="inprocess").executor_config().kind == "inprocess"
    finally:
        get_settings.cache_clear()
    sent = actor_settings(
        Settings(jwt_secret="j" * 40, document_store_uri="mongodb://u:pw@db", s3_access_key_id="k")
    )
    assert sent.jwt_secret is None and sent.document_store_uri is None
    assert sent.s3_access_key_id is not None  # a model mirror on R2 needs it


@pytest.mark.slow
def test_actor_without_its_model_fails_the_step_saying_why(
    inprocess, ray_address: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    home, _analyses, embeddings = inprocess
    res = resources(home, tmp_path / "empty-model-store", executor="ray", ray_address=ray_address)
    _, embeddings_out = outputs(home)
    write_table(embeddings.slice(1), embeddings_out)  # one image left to embed: actors start
    before = embeddings_out.read_bytes()
    failed = dg.materialize(
        [image_embeddings], resources=res, partition_key=SHARD, raise_on_error=False
    )
    assert not failed.success
    failure = next(e for e in failed.all_events if e.is_step_failure)
    message = str(failure.event_specific_data.error.message)  # type: ignore[union-attr]
    assert "ray actor failed to start" in message and "is unavailable" in message
    assert embeddings_out.read_bytes() == before  # the previous output is left as it was
    write_table(embeddings, embeddings_out)


def test_an_unreachable_cluster_fails_fast_saying_so(
    inprocess, free_port: Callable[[], int]
) -> None:  # type: ignore[no-untyped-def]
    """Nothing listens at the address: the step fails within seconds (ray.init alone retries
    for minutes) and the shard's previous output stays as it was."""
    home, _analyses, embeddings = inprocess
    address = f"127.0.0.1:{free_port()}"
    res = resources(home, home / "unused-store", executor="ray", ray_address=address)
    _, embeddings_out = outputs(home)
    write_table(embeddings.slice(1), embeddings_out)  # one image left to embed: it connects
    before = embeddings_out.read_bytes()
    started = time.monotonic()
    failed = dg.materialize(
        [image_embeddings], resources=res, partition_key=SHARD, raise_on_error=False
    )
    assert not failed.success and time.monotonic() - started < 30
    failure = next(e for e in failed.all_events if e.is_step_failure)
    message = str(failure.event_specific_data.error.message)  # type: ignore[union-attr]
    assert f"Ray cluster at {address}" in message and "not reachable" in message
    assert embeddings_out.read_bytes() == before
    write_table(embeddings, embeddings_out)
