"""The evaluation assets end to end, in-process: small sets, the real offline detector at two
thresholds, a sqlite MLflow store, the comparison, and the blocking champion gate."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow.parquet as pq
import pytest
from PIL import Image

from evaluation.paths import dataset_dir, result_path
from evaluation.real_photos import load_photo
from evaluation.variants import Variant
from mugpos.models.catalog import SSD_OIDV4
from mugpos_assets.assets.eval_datasets import eval_dataset_assets, eval_key
from mugpos_assets.assets.eval_feedback import feedback_labels
from mugpos_assets.assets.evaluation import evaluation_assets, evaluation_checks
from mugpos_assets.assets.models import model_manifest
from mugpos_assets.mlflow_resource import MlflowResource
from mugpos_assets.resources import (
    CorpusResource,
    DeviceResource,
    DocumentStoreResource,
    ModelStoreResource,
)

CHAMP, WORSE = "ssd-mobilenetv2-oidv4@0.3", "ssd-mobilenetv2-oidv4@0.7"
ASSETS = [
    *eval_dataset_assets,
    feedback_labels,
    *evaluation_assets,
    *evaluation_checks,
    model_manifest,
]


@dataclass
class Flow:
    home: Path
    mlflow: MlflowResource
    eval_runs: dict[str, str] = field(default_factory=dict)  # variant -> Dagster run id
    comparisons: list[dg.ExecuteInProcessResult] = field(default_factory=list)
    manifests: list[bytes | None] = field(default_factory=list)  # after each comparison
    yolo: dg.ExecuteInProcessResult | None = None


def _seed_feedback(home: Path, documents: DocumentStoreResource) -> None:
    """One served coffee analysis with a user's corrected box, its image in the corpus."""
    buf = io.BytesIO()
    Image.fromarray(load_photo("skimage.data.coffee")).save(buf, format="PNG")
    sha = hashlib.sha256(buf.getvalue()).hexdigest()
    target = home / "corpus" / "images" / sha[:2] / f"{sha}.png"
    target.parent.mkdir(parents=True)
    target.write_bytes(buf.getvalue())
    image = {"sha256": sha, "width": 600, "height": 400, "format": "PNG"}
    with documents.open() as store:
        store.collection("analyses").replace(
            {
                "_id": "req-1",
                "source": "api",
                "image_sha256": sha,
                "result": {"image": image, "detections": [], "mugs": []},
            }
        )
        store.collection("feedback").replace(
            {
                "_id": "req-1",
                "request_id": "req-1",
                "correct": False,
                "image_sha256": sha,
                "corrected_detections": [
                    {"label": "mug", "box": {"x1": 173, "y1": 19, "x2": 404, "y2": 306}}
                ],
            }
        )


@pytest.fixture(scope="module")
def flow(shared_home: Path, tmp_path_factory: pytest.TempPathFactory, ssd) -> Flow:  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("eval-home")
    # A model store of its own (the manifest is written into it), seeded from the shared cache.
    shutil.copytree(shared_home / "models", home / "models")
    documents = DocumentStoreResource(home=str(home))
    _seed_feedback(home, documents)
    mlflow = MlflowResource(home=str(home))
    resources = {
        "corpus": CorpusResource(home=str(home)),
        # The shared home caches the offline model (fetched once per session).
        "model_store": ModelStoreResource(home=str(home), offline=True),
        "device": DeviceResource(preference="cpu"),
        "mlflow": mlflow,
        "documents": documents,
    }
    instance = dg.DagsterInstance.ephemeral()
    small = {"config": {"n": 6, "width": 320, "height": 240}}
    sets = dg.materialize(
        ASSETS,
        selection=[*(a.key for a in eval_dataset_assets), feedback_labels.key],
        resources=resources,
        instance=instance,
        run_config={
            "ops": {
                "evaluation__scenes": small,
                "evaluation__composites": small,
                "evaluation__desk_small": {"config": {"n": 3}},
            }
        },
    )
    assert sets.success
    out = Flow(home=home, mlflow=mlflow)
    for variant in (CHAMP, WORSE):
        res = dg.materialize(
            ASSETS,
            selection=[eval_key("model_evaluation")],
            partition_key=variant,
            resources=resources,
            instance=instance,
        )
        assert res.success
        out.eval_runs[variant] = res.run_id
    manifest = home / "models" / "manifest.json"
    for candidate in (CHAMP, WORSE):
        out.comparisons.append(
            dg.materialize(
                ASSETS,
                selection=[eval_key("model_comparison"), model_manifest.key],
                resources=resources,
                instance=instance,
                run_config={
                    "ops": {"evaluation__model_comparison": {"config": {"candidate": candidate}}}
                },
                raise_on_error=False,
            )
        )
        out.manifests.append(manifest.read_bytes() if manifest.is_file() else None)
    out.yolo = dg.materialize(
        ASSETS,
        selection=[eval_key("model_evaluation")],
        partition_key="yolov8n@0.25",
        resources=resources,
        instance=instance,
        raise_on_error=False,
    )
    return out


def _result(flow: Flow, variant: str, dataset: str) -> dict[str, Any]:
    return json.loads(result_path(flow.home, Variant.parse(variant).slug, dataset).read_text())


def test_one_run_per_variant_and_dataset_with_params_metrics_tags(flow: Flow) -> None:
    client = flow.mlflow.client()
    for dataset in ("scenes", "composites", "real", "feedback"):
        exp = client.get_experiment_by_name(f"mugpos-eval-{dataset}")
        assert exp is not None, dataset
        assert exp.artifact_location.startswith((flow.home / "mlartifacts").as_uri())
        for variant in (CHAMP, WORSE):
            stored = _result(flow, variant, dataset)
            run = client.get_run(stored["run_id"])
            assert run.info.experiment_id == exp.experiment_id
            p, t = run.data.params, run.data.tags
            assert p["model_id"] == SSD_OIDV4.id and p["model_version"] == SSD_OIDV4.version
            assert p["model_sha256"] == SSD_OIDV4.primary.sha256
            assert p["score_threshold"] == variant.split("@")[1]
            version = json.loads((dataset_dir(flow.home, dataset) / "dataset.json").read_text())
            assert p["dataset_version"] == version["version"] == stored["dataset_version"]
            assert t["dagster.run_id"] == flow.eval_runs[variant]
            assert t["dagster.asset_key"] == "evaluation/model_evaluation"
            assert t["dagster.partition"] == variant and "dagster.code_version" in t
            for name, value in stored["metrics"].items():
                if value is not None:
                    assert run.data.metrics[name] == pytest.approx(value), name


def test_artifacts_hold_curves_gallery_and_per_image_rows(flow: Flow, tmp_path: Path) -> None:
    client = flow.mlflow.client()
    stored = _result(flow, CHAMP, "composites")
    names = {a.path for a in client.list_artifacts(stored["run_id"])}
    assert names >= {"pr_curve.png", "gallery.png", "per_image.parquet", "report.json"}
    assert "model_card" in names
    local = Path(client.download_artifacts(stored["run_id"], "", str(tmp_path)))
    for png in ("pr_curve.png", "gallery.png"):
        assert (local / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = pq.read_table(local / "per_image.parquet").to_pylist()
    assert len(rows) == 6
    m = stored["metrics"]
    assert sum(r["tp"] for r in rows) == m["mug_tp"]
    assert sum(r["gt_mugs"] for r in rows) == m["gt_mugs"]
    card = json.loads((local / "model_card" / "variant.json").read_text())
    assert card["variant"] == CHAMP


def test_offline_detector_finds_the_real_cup_and_higher_threshold_recalls_less(flow: Flow) -> None:
    real = _result(flow, CHAMP, "real")["metrics"]
    # Six real cups: the coffee cup, a teacup on a tray, a brown and a terracotta cup on tables,
    # a mug behind a bottle, a printed mug on a lab desk; full-image SSD finds three of them.
    assert real["gt_mugs"] == 6 and real["mug_recall"] >= 0.5
    champ, worse = (_result(flow, v, "composites")["metrics"] for v in (CHAMP, WORSE))
    assert champ["mug_recall"] > 0.4
    assert worse["mug_recall"] < champ["mug_recall"]
    fb = _result(flow, CHAMP, "feedback")["metrics"]  # the user's corrected coffee box
    assert fb["gt_mugs"] == 1 and fb["mug_recall"] == 1.0


def test_comparison_parent_runs_have_the_variants_as_children(flow: Flow) -> None:
    first = flow.comparisons[0]
    assert first.success
    mat = first.get_asset_materialization_events()[0].materialization
    table = mat.metadata["composites/table"].value
    assert CHAMP in table and WORSE in table and "data:image/png;base64," in table
    # The by-class and by-size table: the desk set has monitors, books and small mugs.
    desk = mat.metadata["desk_small/table"].value
    assert "By class and by COCO size bucket" in desk
    assert "monitor AP50" in desk and "book R" in desk and "mug small R" in desk
    client = flow.mlflow.client()
    exp = client.get_experiment_by_name("mugpos-eval-composites")
    parents = client.search_runs(
        [exp.experiment_id], "tags.`mugpos.kind` = 'comparison'", order_by=["start_time ASC"]
    )
    assert len(parents) == 2
    for parent in parents:
        kids = client.search_runs(
            [exp.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
        )
        assert sorted(k.data.tags["mugpos.variant"] for k in kids) == sorted([CHAMP, WORSE])
    assert "comparison.md" in {a.path for a in client.list_artifacts(parents[0].info.run_id)}


def test_first_candidate_becomes_champion_and_worse_variant_is_blocked(flow: Flow) -> None:
    from evaluation.tracking import get_champion

    first, second = flow.comparisons
    (gate1,) = first.get_asset_check_evaluations()
    assert gate1.passed and gate1.metadata["promoted"].value == {
        "scenes": "1",
        "composites": "1",
        "desk_small": "1",
        "real": "1",
        "served": "1",
    }
    assert not second.success  # the blocking check failed the run
    (gate2,) = second.get_asset_check_evaluations()
    assert not gate2.passed and gate2.metadata["candidate"].value == WORSE
    assert gate2.metadata["regressions"].value >= 2
    assert "composites/mug_recall" in gate2.metadata["findings"].value
    client = flow.mlflow.client()
    for dataset in ("scenes", "composites", "real"):
        champ = get_champion(client, dataset)
        assert champ is not None and champ.variant == CHAMP
        assert champ.run_id == _result(flow, CHAMP, dataset)["run_id"]
        assert client.get_run(champ.run_id).data.tags["mugpos.champion"] == "true"


def test_unobtainable_weights_fail_with_the_stores_instructions(flow: Flow) -> None:
    assert flow.yolo is not None and not flow.yolo.success
    failure = flow.yolo.get_step_failure_events()[0]
    error, message = failure.event_specific_data.error, ""  # type: ignore[union-attr]
    while error is not None:  # Dagster wraps the store's error: read the whole chain
        message, error = message + error.message, error.cause
    assert "yolov8n.pt" in message and "Put the file" in message


def test_the_manifest_names_the_champion_and_a_blocked_candidate_never_reaches_it(
    flow: Flow,
) -> None:
    from evaluation.tracking import get_served_champion
    from mugpos.manifest import ModelManifest

    after_champ, after_worse = flow.manifests
    assert after_champ is not None
    served = ModelManifest.model_validate_json(after_champ).served
    assert served is not None and served.source == "champion" and served.key == CHAMP
    assert served.score_threshold == 0.3 and served.tiling == "full"
    assert served.champion is not None and served.champion.version == "1"
    for dataset in ("scenes", "composites", "real"):
        assert served.champion.run_ids[dataset] == _result(flow, CHAMP, dataset)["run_id"]
    # The worse candidate failed the blocking gate: the manifest step never ran, the file is
    # byte for byte what the champion's run wrote, and the served alias did not move.
    second = flow.comparisons[1]
    written = {e.asset_key for e in second.get_asset_materialization_events()}
    assert model_manifest.key not in written
    assert after_worse == after_champ
    champ = get_served_champion(flow.mlflow.client())
    assert champ is not None and champ.variant == CHAMP and champ.model_version == "1"


def test_the_api_serves_the_champion_and_never_the_blocked_candidate(flow: Flow) -> None:
    from mugpos.settings import Settings
    from mugpos_serving.models import ModelRegistry

    # After the champion's run and the blocked candidate's, the API's registry reads the
    # manifest the gate let through: the champion, never the candidate that failed.
    registry = ModelRegistry(Settings(home=flow.home, offline=True))
    bundle = registry.load_initial()
    assert registry.state == "ok" and bundle.source == "manifest"
    assert bundle.variant.key == CHAMP != WORSE
    assert bundle.served.source == "champion" and bundle.served.champion is not None
    assert registry.describe()["served_variant"]["key"] == CHAMP
