"""The evaluation assets join the code location cleanly and keep its import light."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg


def test_assets_are_in_the_code_location() -> None:
    from mugpos_assets.assets.evaluation import variant_partitions
    from mugpos_assets.definitions import defs

    merged = defs
    dg.Definitions.validate_loadable(merged)
    assert "mlflow" in merged.resources
    graph = merged.resolve_asset_graph()
    evaluation = dg.AssetKey(["evaluation", "model_evaluation"])
    # Each evaluation depends on the detector model assets, so a new model version shows stale.
    parents = graph.get(evaluation).parent_keys
    assert dg.AssetKey(["models", "ssd_mobilenetv2_oidv4"]) in parents
    assert dg.AssetKey(["evaluation", "scenes"]) in parents
    assert merged.get_assets_def(evaluation).op.pool == "gpu"  # one GPU job at a time
    keys = variant_partitions.get_partition_keys()
    assert "ssd-mobilenetv2-oidv4@0.3" in keys and "yolov8n@0.25" in keys and "yolo11n@0.25" in keys
    check = graph.get_check_spec(
        dg.AssetCheckKey(dg.AssetKey(["evaluation", "model_comparison"]), "champion_gate")
    )
    assert check.blocking


def test_importing_the_assets_keeps_heavy_libraries_lazy() -> None:
    code = (
        "import sys; import mugpos_assets.assets.evaluation, mugpos_assets.assets.eval_feedback, "
        "mugpos_assets.mlflow_resource; "
        "heavy = ('mlflow', 'matplotlib', 'faster_coco_eval', 'torch', 'onnxruntime'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
