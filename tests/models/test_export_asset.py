"""The ONNX export asset end to end: weights from the model store, export, blocking parity check."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from mugpos.fileio import sha256_file
from mugpos.manifest import manifest_entry
from mugpos.models.catalog import CATALOG, YOLOV8N, InputSpec, ModelFile
from mugpos.models.loader import exports_dir, load_detector
from mugpos.models.store import ModelStore
from mugpos.models.verified import verified_sha256
from mugpos.models.yolo_native import UltralyticsDetector
from mugpos.models.yolo_onnx import YoloOnnxDetector
from mugpos.settings import Settings
from mugpos_assets.assets.exports import _build_export_asset
from mugpos_assets.assets.models import export_asset_key
from mugpos_assets.resources import ModelStoreResource


def test_yolo_export_asset_reports_parity(
    tmp_path: Path,
    photos: dict[str, np.ndarray],
    yolo_imgsz: int,
    yolo_onnx_static: Path,
    monkeypatch: pytest.MonkeyPatch,
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
    # Published with its verification record; nothing left in staging.
    assert verified_sha256(onnx) == sha256_file(onnx)
    assert not [p for p in onnx.parent.iterdir() if p.name.startswith(".staging-")]
    monkeypatch.setitem(CATALOG, spec.id, spec)
    settings = Settings(home=home, offline=True, device="cpu")
    assert isinstance(load_detector(spec.id, store=store, settings=settings), YoloOnnxDetector)
    assert list(manifest_entry(store, spec, {onnx.name: onnx}).exports) == [onnx.name]

    # Another ONNX put in its place (by hand, or by an export that was never checked) is
    # neither served nor listed: the weights are served natively instead.
    onnx.unlink()
    onnx.write_bytes(yolo_onnx_static.read_bytes())
    assert verified_sha256(onnx) is None
    assert isinstance(load_detector(spec.id, store=store, settings=settings), UltralyticsDetector)
    assert manifest_entry(store, spec, {onnx.name: onnx}).exports == {}


def test_an_export_that_fails_parity_is_never_published(
    tmp_path: Path, tiny_clip_spec, clip_torch, tiny_clip_weights: Path
) -> None:  # type: ignore[no-untyped-def]
    """The export is made from other weights than the reference it is checked against (as if
    the exporter picked up a stale checkpoint): parity fails, the blocking check fails, and
    the exports folder keeps exactly what it had."""
    import open_clip
    import torch

    from mugpos.device import choose_device
    from mugpos.models.clip import ClipOnnxEmbedder, OpenClipEmbedder
    from mugpos.models.export import export_clip_onnx
    from mugpos.models.parity import embedding_parity
    from mugpos.samples import SAMPLE_NAMES, sample_photo

    torch.manual_seed(1)
    stale = tmp_path / "stale.pt"
    torch.save(
        open_clip.create_model(tiny_clip_spec.architecture, pretrained=None).state_dict(), stale
    )
    stale_model = OpenClipEmbedder(tiny_clip_spec, stale, device=choose_device("cpu"))
    images = [sample_photo(n) for n in SAMPLE_NAMES]

    def exporter(spec, store, staging: Path):  # type: ignore[no-untyped-def]
        image, text = export_clip_onnx(stale_model, staging / "image.onnx", staging / "text.onnx")
        onnx = ClipOnnxEmbedder(spec, image, text)
        return {"image": image, "text": text}, embedding_parity(
            clip_torch.embed_images(images), onnx.embed_images(images)
        )

    home = tmp_path / "home"
    store = ModelStore(home / "models", offline=True)
    folder = exports_dir(store, tiny_clip_spec)
    folder.mkdir(parents=True)
    (folder / "image.onnx").write_bytes(b"the previous export")
    asset = _build_export_asset(tiny_clip_spec, exporter)
    result = dg.materialize(
        [asset],
        resources={"model_store": ModelStoreResource(home=str(home), offline=True)},
        raise_on_error=False,
    )
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "onnx_parity" and not check.passed
    assert check.metadata["parity/worst_cosine"].value < 0.9
    assert sorted(p.name for p in folder.iterdir()) == ["image.onnx"]
    assert (folder / "image.onnx").read_bytes() == b"the previous export"
