"""Which mugs line up: rows (similar y), columns (similar x) and clusters (boxes close together).

Descriptive only; the ``alignment`` rule kind is what asks for alignment. Grouping is single
linkage (a chain of neighbours within the tolerance), which matches how people see a row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mugpos.positioning.frame import SceneFrame
from mugpos.positioning.geometry import Rect, center, pairwise_gaps
from mugpos.positioning.measure import distance
from mugpos.positioning.models import AlignmentGroup

DEFAULT_TOLERANCE_PCT = 5.0


def _chains(values: Sequence[float], tol: float) -> list[list[int]]:
    order = sorted(range(len(values)), key=lambda i: (values[i], i))
    groups: list[list[int]] = []
    for i in order:
        if groups and values[i] - values[groups[-1][-1]] <= tol:
            groups[-1].append(i)
        else:
            groups.append([i])
    return [sorted(g) for g in groups if len(g) > 1]


def _clusters(boxes: Sequence[Rect], tol: float) -> list[list[int]]:
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    close = pairwise_gaps(np.asarray(boxes, dtype=np.float64).reshape(-1, 4)) <= tol
    for i, j in zip(*np.nonzero(np.triu(close, k=1)), strict=True):
        parent[root(int(j))] = root(int(i))
    groups: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        groups.setdefault(root(i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])


def alignment_groups(
    frame: SceneFrame, tolerance_pct: float = DEFAULT_TOLERANCE_PCT
) -> list[AlignmentGroup]:
    """Rows, columns and clusters of two or more mugs; tolerance in % of the work area."""
    boxes = frame.mugs
    centers = [center(b) for b in boxes]
    out: list[AlignmentGroup] = []
    for kind, axis, base in (("row", 1, frame.wa_height), ("column", 0, frame.wa_width)):
        values = [c[axis] for c in centers]
        for g in _chains(values, tolerance_pct / 100.0 * base):
            spread = max(values[i] for i in g) - min(values[i] for i in g)
            out.append(AlignmentGroup(kind=kind, mugs=g, spread=distance(frame, spread, base)))
    for g in _clusters(boxes, tolerance_pct / 100.0 * frame.short_side):
        xs = [centers[i][0] for i in g]
        ys = [centers[i][1] for i in g]
        spread = max(max(xs) - min(xs), max(ys) - min(ys))
        out.append(AlignmentGroup(kind="cluster", mugs=g, spread=distance(frame, spread)))
    return out
