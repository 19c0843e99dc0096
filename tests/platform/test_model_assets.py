"""The code location loads, and the default model asset materializes with verified metadata."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from mugpos.models.catalog import SSD_OIDV4
from mugpos_assets.assets.models import model_asset_key
from mugpos_assets.definitions import defs
from mugpos_assets.resources import ModelStoreResource

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_load_without_heavy_imports() -> None:
    code = (
        "import sys; import mugpos_assets.definitions as d; "
        "heavy = ('torch', 'ultralytics', 'open_clip', 'onnxruntime'); "
        "heavy = [m for m in heavy if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_workspace_validates(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_default_model_asset_materializes(shared_home: Path, ssd) -> None:  # type: ignore[no-untyped-def]
    key = model_asset_key(SSD_OIDV4)
    result = dg.materialize(
        [defs.get_assets_def(key)],
        resources={"model_store": ModelStoreResource(home=str(shared_home), offline=True)},
    )
    assert result.success
    mats = [
        e.materialization for e in result.get_asset_materialization_events() if e.asset_key == key
    ]
    meta = mats[0].metadata
    assert meta["ssd_mobilenetv2_oidv4_fp16_tflite/sha256"].value == SSD_OIDV4.primary.sha256
    assert meta["ssd_mobilenetv2_oidv4_fp16_tflite/size_bytes"].value == 9_987_728
    assert "cache" in meta["ssd_mobilenetv2_oidv4_fp16_tflite/source"].value
    assert defs.get_assets_def(key).code_versions_by_key[key] == SSD_OIDV4.version
