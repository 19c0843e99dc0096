"""The ONNX export asset end to end: weights from the model store, export, blocking parity check."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np

from mugpos.fileio import sha256_file
from mugpos.models.catalog import YOLOV8N, InputSpec, ModelFile
from mugpos.models.store import ModelStore
from mugpos_assets.assets.exports import _build_export_asset
from mugpos_assets.assets.models import export_asset_key
from mugpos_assets.resources import ModelStoreResource


def test_yolo_export_asset_reports_parity(
    tmp_path: Path, photos: dict[str, np.ndarray], yolo_imgsz: int
) -> None:
    from mugpos.models.export import random_yolo_pt

    pt = random_yolo_pt(
        tmp_path / "yolov8n.pt",
        calibration_images=[photos[k] for k in ("coffee", "astronaut")],
        imgsz=yolo_imgsz,
        class_logit=(-2.0, 1.0),  # plenty of boxes above predict's 0.25
    )
    # A catalog entry for these weights (the real ones are pinned to the release's sha256).
    spec = YOLOV8N.model_copy(
        update={
            "id": "yolov8n-test",
            "files": (ModelFile(name="yolov8n.pt", sha256=sha256_file(pt)),),
            "input": InputSpec(width=yolo_imgsz, height=yolo_imgsz, resize="letterbox"),
        }
    )
    home = tmp_path / "home"
    store = ModelStore(home / "models", offline=True)
    cached = store.cache_path(spec, spec.primary)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(pt.read_bytes())

    asset = _build_export_asset(spec)
    result = dg.materialize(
        [asset], resources={"model_store": ModelStoreResource(home=str(home), offline=True)}
    )
    assert result.success
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "onnx_parity" and check.passed
    meta = {k: v.value for k, v in check.metadata.items()}
    assert meta["parity/compared"] >= 10 and meta["parity/unmatched"] == 0
    onnx = home / "models" / "yolov8n-test" / YOLOV8N.version / "exports" / "yolov8n.onnx"
    assert onnx.is_file()
    assert export_asset_key(spec).path == ["models", "yolov8n_test_onnx"]
