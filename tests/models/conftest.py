"""Shared fixtures for the model-backend tests: real photos, and tiny random models built and
exported once per session (exports are the slow part)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

# Offline before any model library is imported (tests/conftest.py does the same; this folder
# must also hold when run on its own).
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="mugpos-yolo-config-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

YOLO_IMGSZ = 320  # small export: parity does not depend on the size, speed does

# A real open_clip architecture shrunk to 2 layers of width 64 per tower (224 px input, the
# real tokenizer and 77-token context), so export and parity run in seconds.
TINY_CLIP_NAME = "mugpos-tiny-clip"
TINY_CLIP_CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "head_width": 32, "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def _photos() -> dict[str, np.ndarray]:
    import cv2
    import skimage.data as data

    coffee, chelsea = data.coffee(), data.chelsea()
    astronaut, rocket = data.astronaut(), data.rocket()
    return {
        "coffee": coffee,  # 400 x 600
        "chelsea": chelsea,  # 300 x 451
        "astronaut": astronaut,  # 512 x 512
        "rocket": rocket,  # 427 x 640
        "tall": cv2.resize(astronaut, (200, 500), interpolation=cv2.INTER_AREA),
        "wide": cv2.resize(rocket, (900, 300), interpolation=cv2.INTER_LINEAR),
        "coffee_left": np.ascontiguousarray(coffee[:, :250]),
        "chelsea_rot": np.ascontiguousarray(np.rot90(chelsea)),
        "small": cv2.resize(coffee, (61, 37), interpolation=cv2.INTER_AREA),
    }


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    """Real photos (scikit-image, CC0/public domain) in several sizes and aspect ratios."""
    return _photos()


# ---- YOLO ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def yolo_imgsz() -> int:
    return YOLO_IMGSZ


@pytest.fixture(scope="session")
def yolo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("yolo")


@pytest.fixture(scope="session")
def yolo_pt(yolo_dir: Path, photos: dict[str, np.ndarray]) -> Path:
    """Random YOLOv8n with COCO names, calibrated so real photos give many varied boxes."""
    from mugpos.models.export import random_yolo_pt

    calib = [photos[k] for k in ("coffee", "chelsea", "astronaut", "rocket")]
    return random_yolo_pt(
        yolo_dir / "yolov8n-random.pt",
        calibration_images=calib,
        imgsz=YOLO_IMGSZ,
        seed=0,
        class_logit=(-7.0, 1.0),
    )


@pytest.fixture(scope="session")
def yolo_onnx_dynamic(yolo_pt: Path, yolo_dir: Path) -> Path:
    from mugpos.models.export import export_yolo_onnx

    return export_yolo_onnx(yolo_pt, yolo_dir / "dynamic.onnx", imgsz=YOLO_IMGSZ, dynamic=True)


@pytest.fixture(scope="session")
def yolo_onnx_static(yolo_pt: Path, yolo_dir: Path) -> Path:
    from mugpos.models.export import export_yolo_onnx

    return export_yolo_onnx(
        yolo_pt, yolo_dir / "static.onnx", imgsz=YOLO_IMGSZ, dynamic=False, simplify=False
    )


# ---- CLIP ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clip")


@pytest.fixture(scope="session")
def tiny_clip_spec(clip_dir: Path):  # type: ignore[no-untyped-def]
    """The ViT-B-32 catalog spec pointed at the tiny registered architecture."""
    import open_clip

    from mugpos.models.catalog import CLIP_VIT_B32

    config = clip_dir / f"{TINY_CLIP_NAME}.json"
    config.write_text(json.dumps(TINY_CLIP_CONFIG))
    open_clip.add_model_config(config)
    return CLIP_VIT_B32.model_copy(
        update={"id": "clip-tiny-random", "architecture": TINY_CLIP_NAME, "embedding_dim": 64}
    )


@pytest.fixture(scope="session")
def tiny_clip_weights(tiny_clip_spec, clip_dir: Path) -> Path:  # type: ignore[no-untyped-def]
    """Random weights saved to a file, so the embedder loads them as it loads real ones."""
    import open_clip
    import torch

    torch.manual_seed(0)
    model = open_clip.create_model(TINY_CLIP_NAME, pretrained=None)
    path = clip_dir / "tiny.pt"
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture(scope="session")
def clip_torch(tiny_clip_spec, tiny_clip_weights: Path):  # type: ignore[no-untyped-def]
    from mugpos.device import choose_device
    from mugpos.models.clip import OpenClipEmbedder

    return OpenClipEmbedder(tiny_clip_spec, tiny_clip_weights, device=choose_device("cpu"))


@pytest.fixture(scope="session")
def clip_onnx_paths(clip_torch, clip_dir: Path) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    from mugpos.models.export import export_clip_onnx

    image, text = export_clip_onnx(clip_torch, clip_dir / "image.onnx", clip_dir / "text.onnx")
    assert text is not None
    return image, text


@pytest.fixture(scope="session")
def clip_onnx(tiny_clip_spec, clip_onnx_paths: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    from mugpos.models.clip import ClipOnnxEmbedder

    return ClipOnnxEmbedder(tiny_clip_spec, *clip_onnx_paths)


@pytest.fixture(scope="session")
def run_python():  # type: ignore[no-untyped-def]
    """Run a code snippet in a fresh interpreter (clean ``sys.modules``); returns its stdout."""
    import subprocess
    import sys

    def run(code: str, timeout: float = 120) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    return run
