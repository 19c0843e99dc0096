"""YOLO ``.pt`` weights through ultralytics itself: the GPU batch path (and the fallback when no
ONNX export exists yet).

ultralytics reaches for the network on its own (pip installs of missing helpers, fonts, asset
downloads, analytics); :func:`offline_ultralytics` switches that off around every call we make.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from mugpos.detections import Box, Detection
from mugpos.device import DeviceChoice, choose_device
from mugpos.labels import canonical_label
from mugpos.models.base import DEFAULT_IOU_THRESHOLD, DEFAULT_SCORE_THRESHOLD, Detector
from mugpos.models.catalog import ModelSpec

MAX_DET = 300


@contextlib.contextmanager
def offline_ultralytics() -> Iterator[None]:
    """Keep ultralytics from installing packages or phoning home while the block runs.

    ``YOLO_AUTOINSTALL`` and ``YOLO_OFFLINE`` are read once, when ultralytics is first
    imported, so they are set before that import (unless the caller set them) and the module
    flags are patched too in case it was imported earlier (analytics events included);
    requirement checks are skipped via the variable ultralytics reads on each call.
    """
    defaults = {
        "YOLO_AUTOINSTALL": "false",
        "YOLO_OFFLINE": "1",
        "ULTRALYTICS_SKIP_REQUIREMENTS_CHECKS": "1",
    }
    added = [k for k in defaults if k not in os.environ]
    for k in added:
        os.environ[k] = defaults[k]
    try:
        import ultralytics.utils as uu
        import ultralytics.utils.checks as checks
        from ultralytics.utils.events import events

        saved = (checks.AUTOINSTALL, checks.ONLINE, uu.ONLINE, events.enabled)
        checks.AUTOINSTALL, checks.ONLINE, uu.ONLINE, events.enabled = False, False, False, False
        try:
            yield
        finally:
            checks.AUTOINSTALL, checks.ONLINE, uu.ONLINE, events.enabled = saved
    finally:
        for k in added:
            os.environ.pop(k, None)


class UltralyticsDetector(Detector):
    """``ultralytics.YOLO(pt).predict`` mapped to our :class:`Detection`.

    fp16 on CUDA (ultralytics has no bf16 predict; fp16 is as fast on H100/H200), fp32 on the
    CPU. ``rect=False`` letterboxes every image to the square export size, like the ONNX path,
    so both backends see the same pixels; ``rect=True`` is ultralytics' own default.
    """

    def __init__(
        self,
        spec: ModelSpec,
        pt_path: Path | str,
        device: DeviceChoice | None = None,
        *,
        imgsz: int | None = None,
        max_det: int = MAX_DET,
        rect: bool = False,
    ) -> None:
        self.spec = spec
        self.pt_path = Path(pt_path)
        self.device = device or choose_device("auto")
        self.imgsz = imgsz or max(spec.input.height, spec.input.width)
        self.max_det = max_det
        self.rect = rect
        self._lock = threading.Lock()  # an ultralytics predictor is not re-entrant
        with offline_ultralytics():
            from ultralytics import YOLO

            self._model = YOLO(str(self.pt_path), task="detect")
        names = self._model.names or dict(enumerate(spec.labels))
        self.raw_labels = {int(k): str(v) for k, v in names.items()}
        self.labels = {k: canonical_label(v) for k, v in self.raw_labels.items()}

    def detect_batch(
        self,
        images: Sequence[np.ndarray],
        *,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    ) -> list[list[Detection]]:
        results: list[list[Detection]] = []
        step = max(1, self.device.batch_size)
        for start in range(0, len(images), step):
            # ultralytics takes numpy input as BGR (OpenCV's order); ours is RGB.
            bgr = [np.ascontiguousarray(im[..., ::-1]) for im in images[start : start + step]]
            with self._lock, offline_ultralytics():
                preds = self._model.predict(
                    bgr,
                    conf=score_threshold,
                    iou=iou_threshold,
                    imgsz=self.imgsz,
                    max_det=self.max_det,
                    device=self.device.torch_device,
                    quantize=16 if self.device.kind == "cuda" else None,
                    batch=len(bgr),
                    rect=self.rect,
                    verbose=False,
                    save=False,
                )
            results.extend(self._to_detections(r) for r in preds)
        return results

    def _to_detections(self, result: object) -> list[Detection]:
        boxes = result.boxes  # type: ignore[attr-defined]
        xyxy = boxes.xyxy.float().cpu().numpy()
        conf = boxes.conf.float().cpu().numpy()
        cls = boxes.cls.cpu().numpy().astype(np.int64)
        return [
            Detection(
                label=self.labels.get(c, str(c)),
                raw_label=self.raw_labels.get(c, str(c)),
                score=min(max(s, 0.0), 1.0),
                box=Box.from_xyxy(b),
                model_id=self.spec.id,
            )
            for b, s, c in zip(xyxy.tolist(), conf.tolist(), cls.tolist(), strict=True)
        ]
