"""Build detectors and embedders from catalog ids: the one place that maps a spec to a backend.

YOLO runs from its ONNX export through ONNX Runtime when a verified export exists (the serving
path, no torch), else natively through ultralytics. CLIP likewise prefers its verified ONNX
exports on the CPU and uses open_clip with torch on a GPU. An export is used only when its
verification record matches its bytes (``mugpos.models.verified``): never one that failed its
parity check or was dropped in by hand.
"""

from __future__ import annotations

from pathlib import Path

from mugpos.device import DeviceChoice, choose_device
from mugpos.models.base import Detector, Embedder
from mugpos.models.catalog import ModelSpec, get_spec
from mugpos.models.store import ModelStore
from mugpos.models.verified import is_verified
from mugpos.settings import Settings, get_settings


def exports_dir(store: ModelStore, spec: ModelSpec) -> Path:
    """Where derived files (ONNX exports) of a model version live, beside its weights."""
    return store.cache_dir / spec.id / spec.version / "exports"


def load_detector(
    model_id: str | None = None,
    *,
    store: ModelStore | None = None,
    settings: Settings | None = None,
    device: DeviceChoice | None = None,
    num_threads: int | None = None,
) -> Detector:
    s = settings or get_settings()
    spec = get_spec(model_id or s.detector)
    if "detect" not in spec.tasks:
        raise ValueError(f"{spec.id} is not a detector")
    store = store or ModelStore.from_settings(s)
    device = device or choose_device(s.device, s.batch_size)
    if spec.family == "ssd":
        from mugpos.models.ssd import SsdMobileNetV2

        fetched = store.fetch(spec)
        return SsdMobileNetV2(spec, fetched.path(), fetched.path("labels.txt"), num_threads or 2)
    if spec.family == "yolo":
        onnx_path = exports_dir(store, spec) / f"{Path(spec.primary.name).stem}.onnx"
        if device.kind == "cpu" and is_verified(onnx_path):
            from mugpos.models.yolo_onnx import YoloOnnxDetector

            return YoloOnnxDetector(spec, onnx_path, providers=device.onnx_providers, rect=True)
        from mugpos.models.yolo_native import UltralyticsDetector

        return UltralyticsDetector(spec, store.fetch(spec).path(), device=device)
    raise ValueError(f"no detector backend for family {spec.family}")


def load_embedder(
    model_id: str | None = None,
    *,
    store: ModelStore | None = None,
    settings: Settings | None = None,
    device: DeviceChoice | None = None,
    num_threads: int | None = None,
) -> Embedder:
    s = settings or get_settings()
    spec = get_spec(model_id or s.embedder)
    if "embed_image" not in spec.tasks:
        raise ValueError(f"{spec.id} is not an embedder")
    if spec.family == "ssd":
        det = load_detector(
            spec.id, store=store, settings=s, device=device, num_threads=num_threads
        )
        assert isinstance(det, Embedder)
        return det
    store = store or ModelStore.from_settings(s)
    device = device or choose_device(s.device, s.batch_size)
    if spec.family == "clip":
        from mugpos.models.clip import ClipOnnxEmbedder, OpenClipEmbedder

        exports = exports_dir(store, spec)
        if device.kind == "cpu" and all(
            is_verified(exports / n) for n in ("image.onnx", "text.onnx")
        ):
            return ClipOnnxEmbedder(spec, exports / "image.onnx", exports / "text.onnx")
        return OpenClipEmbedder(spec, store.fetch(spec).path(), device=device)
    raise ValueError(f"no embedder backend for family {spec.family}")
