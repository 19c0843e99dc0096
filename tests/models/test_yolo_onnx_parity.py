"""Our ONNX Runtime YOLO path against ultralytics' own predict on the same ONNX file and photos,
plus the native ``.pt`` path, labels, batching and the no-torch guarantee."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mugpos.detections import Box, Detection
from mugpos.models.catalog import COCO80, YOLOV8N
from mugpos.models.nms import box_iou_matrix
from mugpos.models.yolo_onnx import YoloOnnxDetector, decode_yolo

IMGSZ = 320  # the size the session fixtures export at (checked against yolo_imgsz)
CONF, IOU = 0.01, 0.7  # low conf: random weights score low; 0.7 is ultralytics' predict IoU

Ref = tuple[tuple[float, float, float, float], float, str]


def ultralytics_predict(onnx: Path, images: list[np.ndarray], **kw: object) -> list[list[Ref]]:
    from ultralytics import YOLO

    model = YOLO(str(onnx), task="detect")
    out = []
    for im in images:  # one call per image: rect letterboxing applies only to same-shape batches
        bgr = np.ascontiguousarray(im[..., ::-1])
        (r,) = model.predict(bgr, conf=CONF, iou=IOU, imgsz=IMGSZ, verbose=False, **kw)
        xyxy, conf, cls = r.boxes.xyxy.numpy(), r.boxes.conf.numpy(), r.boxes.cls.numpy()
        out.append(
            [
                (tuple(b), float(s), r.names[int(c)])
                for b, s, c in zip(xyxy.tolist(), conf, cls, strict=True)
            ]
        )
    return out


def assert_same(
    ours: list[Detection], ref: list[Ref], iou_min: float = 0.99, score_tol: float = 1e-3
) -> int:
    """One-to-one match (same raw class, IoU >= iou_min or the same corners, score within
    tol); returns the number matched."""
    assert len(ours) == len(ref), (len(ours), len(ref))
    free = list(range(len(ref)))
    for d in ours:
        best, best_iou = None, iou_min
        for j in free:
            box, score, label = ref[j]
            iou = d.box.iou(Box.from_xyxy(box))
            if max(abs(a - b) for a, b in zip(box, d.box.as_tuple(), strict=True)) < 1e-2:
                iou = 1.0  # same corners: also covers boxes clipped to zero area (IoU 0)
            if label == d.raw_label and abs(score - d.score) <= score_tol and iou >= best_iou:
                best, best_iou = j, iou
        assert best is not None, f"no match for {d}"
        free.remove(best)
    return len(ours)


def in_bounds(dets: list[Detection], image: np.ndarray) -> bool:
    h, w = image.shape[:2]
    return all(0 <= d.box.x1 <= d.box.x2 <= w and 0 <= d.box.y1 <= d.box.y2 <= h for d in dets)


@pytest.fixture(scope="module")
def images(photos: dict[str, np.ndarray]) -> list[np.ndarray]:
    return list(photos.values())


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["dynamic", "static"])
def test_onnx_matches_ultralytics_predict(
    variant: str, request: pytest.FixtureRequest, images: list[np.ndarray]
) -> None:
    assert request.getfixturevalue("yolo_imgsz") == IMGSZ
    onnx = request.getfixturevalue(f"yolo_onnx_{variant}")
    det = YoloOnnxDetector(YOLOV8N, onnx)
    assert det.input_hw == (IMGSZ, IMGSZ)
    ours = det.detect_batch(images, score_threshold=CONF, iou_threshold=IOU)
    # rect=False: ultralytics' predict pads dynamic exports to the stride only by default.
    ref = ultralytics_predict(onnx, images, rect=False)
    matched = sum(assert_same(o, r) for o, r in zip(ours, ref, strict=True))
    assert matched >= 500, matched  # a non-trivial comparison, not a few boxes
    assert sum(1 for o in ours if o) >= 4
    # max_det is reached on some photos, so the 300 cut is exercised too
    assert max(len(o) for o in ours) == 300
    assert all(in_bounds(o, im) for o, im in zip(ours, images, strict=True))


@pytest.mark.slow
def test_rect_mode_matches_ultralytics_default(
    yolo_onnx_dynamic: Path, images: list[np.ndarray]
) -> None:
    det = YoloOnnxDetector(YOLOV8N, yolo_onnx_dynamic, rect=True)
    ours = [det.detect(im, score_threshold=CONF, iou_threshold=IOU) for im in images]
    ref = ultralytics_predict(yolo_onnx_dynamic, images)  # predict's default: rect=True
    assert sum(assert_same(o, r) for o, r in zip(ours, ref, strict=True)) >= 500
    # and rect really changed the input (different detections than the square letterbox)
    square = YoloOnnxDetector(YOLOV8N, yolo_onnx_dynamic).detect(
        images[0], score_threshold=CONF, iou_threshold=IOU
    )
    assert [d.box for d in square] != [d.box for d in ours[0]]


@pytest.mark.slow
def test_batch_equals_one_by_one(yolo_onnx_dynamic: Path, images: list[np.ndarray]) -> None:
    det = YoloOnnxDetector(YOLOV8N, yolo_onnx_dynamic, batch_size=4)  # 9 photos: 3 runs
    batched = det.detect_batch(images, score_threshold=0.05, iou_threshold=0.5)
    single = [det.detect(im, score_threshold=0.05, iou_threshold=0.5) for im in images]
    assert len(batched) == len(images)
    for b, s in zip(batched, single, strict=True):
        assert_same(b, [(d.box.as_tuple(), d.score, d.raw_label) for d in s], 0.999, 1e-5)
    assert sum(map(len, batched)) > 50


@pytest.mark.slow
def test_thresholds_are_applied(yolo_onnx_dynamic: Path, images: list[np.ndarray]) -> None:
    det = YoloOnnxDetector(YOLOV8N, yolo_onnx_dynamic)
    low = det.detect_batch(images, score_threshold=0.01, iou_threshold=0.7)
    high = det.detect_batch(images, score_threshold=0.2, iou_threshold=0.7)
    assert all(d.score > 0.2 for r in high for d in r)
    assert sum(map(len, high)) < sum(map(len, low))
    for r in low:  # best score first
        assert [d.score for d in r] == sorted((d.score for d in r), reverse=True)
    # NMS works in network pixels (before clipping to the photo): no same-class pair kept there
    # overlaps above the threshold, and the suppression really removed boxes.
    out, _ = det.raw_outputs(images[:1])
    boxes, _, classes = decode_yolo(out[0], det.num_classes, 0.01, 0.7)
    iou = box_iou_matrix(boxes.astype(np.float64), boxes.astype(np.float64))
    same = (classes[:, None] == classes[None, :]) & ~np.eye(len(boxes), dtype=bool)
    assert len(boxes) and iou[same].max(initial=0.0) <= 0.7 + 1e-4
    loose, _, _ = decode_yolo(out[0], det.num_classes, 0.01, 0.95)
    assert len(loose) > len(boxes)


@pytest.mark.slow
def test_labels_from_metadata_then_spec(
    yolo_onnx_static: Path, tmp_path: Path, images: list[np.ndarray]
) -> None:
    import onnx

    det = YoloOnnxDetector(YOLOV8N, yolo_onnx_static)
    assert det.raw_labels == list(COCO80)
    assert det.labels[COCO80.index("cup")] == "mug"
    assert det.labels[COCO80.index("dining table")] == "table"
    dets = det.detect_batch(images, score_threshold=CONF)
    found = {d.raw_label: d.label for r in dets for d in r}
    assert all(label == ("mug" if raw == "cup" else label) for raw, label in found.items())

    # Without the names metadata the spec's labels are used.
    proto = onnx.load(str(yolo_onnx_static))
    kept = [p for p in proto.metadata_props if p.key != "names"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    bare = tmp_path / "bare.onnx"
    onnx.save(proto, str(bare))
    labels = (*(f"Thing {i}" for i in range(79)), "Coffee cup")
    spec = YOLOV8N.model_copy(update={"labels": labels})
    fallback = YoloOnnxDetector(spec, bare)
    assert fallback.raw_labels[-1] == "Coffee cup" and fallback.labels[-1] == "mug"
    assert fallback.labels[0] == "thing 0"


@pytest.mark.slow
def test_native_pt_path(yolo_pt: Path, yolo_onnx_static: Path, images: list[np.ndarray]) -> None:
    """ultralytics on the .pt gives Detections in source pixels, and (fp32 CPU, same square
    letterbox) nearly the same as the ONNX path: torch and ORT differ by float rounding only."""
    from mugpos.device import choose_device
    from mugpos.models.yolo_native import UltralyticsDetector

    native = UltralyticsDetector(
        YOLOV8N, yolo_pt, device=choose_device("cpu", batch_size=4), imgsz=IMGSZ
    )
    got = native.detect_batch(images, score_threshold=0.05, iou_threshold=IOU)
    assert len(got) == len(images)
    assert all(in_bounds(g, im) for g, im in zip(got, images, strict=True))
    assert all(d.model_id == "yolov8n" for g in got for d in g)
    assert any(g for g in got)
    onnx = YoloOnnxDetector(YOLOV8N, yolo_onnx_static).detect_batch(
        images, score_threshold=0.05, iou_threshold=IOU
    )
    total = matched = 0
    for g, o in zip(got, onnx, strict=True):
        total += max(len(g), len(o))
        for d in g:
            same = (
                e.raw_label == d.raw_label
                and e.box.iou(d.box) > 0.99
                and abs(e.score - d.score) < 1e-3
                for e in o
            )
            matched += any(same)
    assert total > 100 and matched / total > 0.95, (matched, total)


@pytest.mark.slow
def test_rejects_bad_input(yolo_onnx_static: Path) -> None:
    det = YoloOnnxDetector(YOLOV8N, yolo_onnx_static)
    with pytest.raises(ValueError, match="uint8"):
        det.detect(np.zeros((10, 10, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="HxWx3"):
        det.detect(np.zeros((10, 10), dtype=np.uint8))
    assert det.detect_batch([]) == []


@pytest.mark.slow
def test_onnx_path_never_imports_torch(
    yolo_onnx_dynamic: Path, photos: dict[str, np.ndarray], tmp_path: Path, run_python
) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "coffee.npy", photos["coffee"])
    out = run_python(
        f"""
import sys, numpy as np
from mugpos.models.catalog import YOLOV8N
from mugpos.models.nms import box_iou_matrix
from mugpos.models.yolo_onnx import YoloOnnxDetector, decode_yolo
det = YoloOnnxDetector(YOLOV8N, {str(yolo_onnx_dynamic)!r})
dets = det.detect(np.load({str(tmp_path / "coffee.npy")!r}), score_threshold=0.01)
heavy = sorted(m for m in ("torch", "torchvision", "ultralytics", "open_clip") if m in sys.modules)
print(len(dets), heavy)
"""
    )
    n, heavy = out.split(maxsplit=1)
    assert int(n) > 0
    assert heavy.strip() == "[]"


@pytest.mark.slow
def test_exports_are_atomic_and_offline(yolo_onnx_dynamic: Path, yolo_onnx_static: Path) -> None:
    """Exports land under their final names only, with nothing left beside them."""
    import onnx

    folder = yolo_onnx_dynamic.parent
    assert yolo_onnx_static.parent == folder
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]
    meta = {p.key: p.value for p in onnx.load(str(yolo_onnx_dynamic)).metadata_props}
    assert meta["imgsz"] == f"[{IMGSZ}, {IMGSZ}]" and "'cup'" in meta["names"]


def test_parity_report_of_an_export(yolo_onnx_static: Path, images: list[np.ndarray]) -> None:
    """The report the Dagster export asset attaches: passes on a faithful export."""
    from mugpos.models.catalog import YOLOV8N
    from mugpos.models.parity import yolo_parity

    report = yolo_parity(YOLOV8N, yolo_onnx_static, images[:4], conf=CONF)
    assert report.passed, report
    assert report.compared >= 50 and report.unmatched == 0
    assert report.worst_iou is not None and report.worst_iou >= 0.99


def test_parity_report_catches_a_disagreement() -> None:
    from mugpos.models.parity import match_detections

    a = Detection(label="mug", raw_label="cup", score=0.9, box=Box.from_xyxy((0, 0, 10, 10)))
    moved = a.model_copy(update={"box": Box.from_xyxy((2, 0, 12, 10))})
    rescored = a.model_copy(update={"score": 0.8})
    assert match_detections([a], [a]).passed
    assert not match_detections([a], [moved]).passed
    assert not match_detections([a], [rescored]).passed
    assert match_detections([a], []).unmatched == 1
