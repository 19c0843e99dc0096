"""Non-maximum suppression in numpy, shared by every detector decoder (no torch on this path)."""

from __future__ import annotations

import numpy as np


def box_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (N x 4 xyxy) with every box in ``b`` (M x 4)."""
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS (suppresses IoU > threshold); returns kept indices, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        if not rest.size:
            break
        iou = box_iou_matrix(boxes[i : i + 1], boxes[rest])[0]
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(
    boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """Class-aware NMS: boxes of different classes never suppress each other.

    Uses the coordinate-offset trick (as torchvision does): each class is shifted far apart so
    one NMS pass handles them all.
    """
    if len(boxes) == 0:
        return np.zeros((0,), dtype=np.int64)
    offset = classes.astype(np.float64)[:, None] * (float(np.abs(boxes).max()) + 1.0) * 2.0
    return nms(boxes.astype(np.float64) + offset, scores, iou_threshold)
