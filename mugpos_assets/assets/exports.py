"""ONNX exports of the catalog models that have one (YOLO, CLIP), each checked for parity.

Each export is written to a staging folder and its parity checked there; only an export that
passes is published into the model's exports folder, with a verification record the loader and
the manifest require (``mugpos.models.verified``). The check is blocking as well: an export
that disagrees with its reference library (ultralytics' own predict, open_clip's torch model)
is never published, never reaches the manifest, and the previous export stays served.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg

from mugpos.device import choose_device
from mugpos.models.catalog import CATALOG, ModelSpec
from mugpos.models.loader import exports_dir
from mugpos.models.verified import export_checked
from mugpos.samples import SAMPLE_NAMES, sample_photo
from mugpos_assets.assets.models import (
    MODELS_GROUP,
    export_asset_key,
    has_export,
    model_asset_key,
)
from mugpos_assets.resources import ModelStoreResource

PARITY_TEXTS = ["a mug next to a laptop", "a cup of coffee on a wooden table", "an empty desk"]


def _export_yolo(spec: ModelSpec, store, staging: Path) -> tuple[dict, object]:  # type: ignore[no-untyped-def]
    from mugpos.models.export import export_yolo_onnx
    from mugpos.models.parity import yolo_parity

    pt = store.fetch(spec).path()
    out = staging / f"{pt.stem}.onnx"
    export_yolo_onnx(pt, out, imgsz=spec.input.width, dynamic=True)
    images = [sample_photo(n) for n in SAMPLE_NAMES]
    return {"onnx": out}, yolo_parity(spec, out, images)


def _export_clip(spec: ModelSpec, store, staging: Path) -> tuple[dict, object]:  # type: ignore[no-untyped-def]
    import numpy as np

    from mugpos.models.clip import ClipOnnxEmbedder, OpenClipEmbedder
    from mugpos.models.export import export_clip_onnx
    from mugpos.models.parity import embedding_parity

    weights = store.fetch(spec).path()
    torch_model = OpenClipEmbedder(spec, weights, device=choose_device("cpu"))
    image_onnx, text_onnx = export_clip_onnx(
        torch_model, staging / "image.onnx", staging / "text.onnx"
    )
    onnx_model = ClipOnnxEmbedder(spec, image_onnx, text_onnx)
    images = [sample_photo(n) for n in SAMPLE_NAMES]
    a = np.concatenate([torch_model.embed_images(images), torch_model.embed_texts(PARITY_TEXTS)])
    b = np.concatenate([onnx_model.embed_images(images), onnx_model.embed_texts(PARITY_TEXTS)])
    return {"image": image_onnx, "text": text_onnx}, embedding_parity(a, b)


Exporter = Callable[[ModelSpec, Any, Path], tuple[dict, Any]]


def _build_export_asset(spec: ModelSpec, exporter: Exporter | None = None) -> dg.AssetsDefinition:
    """The export asset of ``spec``; ``exporter(spec, store, staging)`` writes the files into
    ``staging`` and returns them with its parity report (default: by model family)."""
    key = export_asset_key(spec)
    export = exporter or (_export_yolo if spec.family == "yolo" else _export_clip)

    @dg.asset(
        key=key,
        deps=[model_asset_key(spec)],
        group_name=MODELS_GROUP,
        code_version=f"1-{spec.version}",
        kinds={"python", "onnx"},
        owners=["team:ml-platform"],
        check_specs=[
            dg.AssetCheckSpec(
                "onnx_parity",
                asset=key,
                blocking=True,
                description="The ONNX export agrees with its reference library on sample photos.",
            )
        ],
        description=f"ONNX export of {spec.id} for CPU serving through ONNX Runtime (no torch), "
        "with a parity check against the reference library.",
    )
    def _export(context: dg.AssetExecutionContext, model_store: ModelStoreResource):  # type: ignore[no-untyped-def]
        store = model_store.store()
        files, report = export_checked(
            exports_dir(store, spec), lambda staging: export(spec, store, staging)
        )
        context.log.info(f"{spec.id} exported: {report}")
        if report.passed:
            meta = {name: dg.MetadataValue.path(str(p)) for name, p in files.items()}
        else:
            context.log.error(f"{spec.id}: parity failed, nothing published: {report}")
            meta = {"published": "no: the parity check failed (the previous export, if any, stays)"}
        return dg.MaterializeResult(
            metadata={**meta, **report.as_metadata()},
            check_results=[
                dg.AssetCheckResult(
                    check_name="onnx_parity", passed=report.passed, metadata=report.as_metadata()
                )
            ],
        )

    return _export


export_assets = [_build_export_asset(spec) for spec in CATALOG.values() if has_export(spec)]
