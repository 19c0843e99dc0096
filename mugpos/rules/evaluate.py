"""Evaluate rules on a scene: per rule and mug, satisfied or violated, measured vs required.

Satisfaction comes from the compiled constraints (the same ones the move search uses); the
measured value is computed here, in the rule's own unit, for people to read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mugpos.positioning.constraints import (
    EDGES,
    MugConstraints,
    PreparedRule,
    lower_median,
    percent_base,
    prepare_rules,
)
from mugpos.positioning.cset import satisfied, shortfall
from mugpos.positioning.frame import SceneFrame
from mugpos.positioning.geometry import (
    Rect,
    center,
    overlap_fraction,
    pairwise_gaps,
    rect_sd,
)
from mugpos.positioning.safety import Safety
from mugpos.rules.results import RuleResult
from mugpos.rules.schema import Rule, RuleSet

# A violation this far (share of the work-area diagonal) from satisfied counts as complete (1.0).
VIOLATION_SCALE = 0.1
_SYMBOL = {"at_least": "≥", "at_most": "≤"}


def evaluate_rules(
    rules: RuleSet | Sequence[Rule],
    frame: SceneFrame,
    boxes: Sequence[Rect] | None = None,
    safety: Safety | None = None,
) -> list[RuleResult]:
    """Results for every enabled rule and every mug, in rule order then mug order, then the
    implicit work-area rule (unless ``safety`` relaxes it).

    ``boxes`` overrides the mugs' boxes (e.g. after applying suggested moves).
    """
    items = rules.rules if isinstance(rules, RuleSet) else tuple(rules)
    return evaluate_prepared(prepare_rules(items, frame, safety), frame, boxes, safety=safety)


def evaluate_prepared(
    prepared: Sequence[PreparedRule],
    frame: SceneFrame,
    boxes: Sequence[Rect] | None = None,
    mugs: Sequence[MugConstraints] | None = None,
    safety: Safety | None = None,
) -> list[RuleResult]:
    """Like :func:`evaluate_rules` on prepared rules; ``mugs`` reuses built constraints."""
    boxes = list(frame.mugs if boxes is None else boxes)
    per_rule: list[list[RuleResult]] = [[] for _ in prepared]
    ctx = _Context(frame, boxes)
    for m, b in enumerate(boxes):
        mc = mugs[m] if mugs is not None else MugConstraints(frame, prepared, m, b, safety)
        cs, owners = mc.at(boxes)
        c = center(b)
        ok = satisfied(_point(c), cs)[0]
        gaps = shortfall(c, cs)
        group_of = {owner: g for g, owner in enumerate(owners)}
        for i, p in enumerate(prepared):
            g = group_of.get(i)
            if p.not_found is not None:
                per_rule[i].append(_result(p, m, "not_found", None, None, 0.0, p.not_found))
                continue
            if p.not_applicable is not None or p.vacuous is not None or g is None:
                status = "not_applicable" if p.not_applicable else "satisfied"
                note = p.not_applicable or p.vacuous or "nothing to check"
                per_rule[i].append(_result(p, m, status, None, None, 0.0, f"mug {m}: {note}"))
                continue
            measured, required, text = _measure(p, ctx, m)
            good = bool(ok[g])
            violation = 0.0 if good else min(1.0, gaps[g] / (VIOLATION_SCALE * frame.diagonal))
            status = "satisfied" if good else "violated"
            per_rule[i].append(_result(p, m, status, measured, required, violation, text))
    return [r for results in per_rule for r in results]


class _Context:
    """What several rules measure, computed once per evaluation: every box-to-box gap between
    mugs (a numpy matrix, so 500 mugs cost milliseconds, not seconds) and the median centers."""

    def __init__(self, frame: SceneFrame, boxes: Sequence[Rect]) -> None:
        self.frame = frame
        self.boxes = boxes
        self._gaps: np.ndarray | None = None
        self._objects: dict[tuple[Rect, ...], np.ndarray] = {}
        xs = [(o[0] + o[2]) / 2.0 for o in boxes]
        ys = [(o[1] + o[3]) / 2.0 for o in boxes]
        self.median = (lower_median(xs), lower_median(ys)) if boxes else (0.0, 0.0)

    def object_gaps(self, rects: tuple[Rect, ...]) -> np.ndarray:
        """Gaps from every mug to each of ``rects`` (one rule's objects), computed once."""
        hit = self._objects.get(rects)
        if hit is None:
            boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
            hit = pairwise_gaps(boxes, np.asarray(rects, dtype=np.float64).reshape(-1, 4))
            self._objects[rects] = hit
        return hit

    @property
    def gaps(self) -> np.ndarray:
        if self._gaps is None:
            self._gaps = pairwise_gaps(np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4))
            np.fill_diagonal(self._gaps, np.inf)
        return self._gaps


def _point(c: tuple[float, float]) -> np.ndarray:
    return np.asarray([c], dtype=np.float64)


def _result(
    p: PreparedRule,
    mug: int,
    status: str,
    measured: float | None,
    required: float | None,
    violation: float,
    message: str,
) -> RuleResult:
    r = p.rule
    unit = "%" if r.kind in ("in_zone", "not_in_zone", "not_on_object", "in_work_area") else r.unit
    # Built from validated rules and computed floats: skip re-validation in this hot path.
    return RuleResult.model_construct(
        rule_id=r.id,
        rule_name=r.name,
        rule_version=r.version,
        kind=r.kind,
        severity=r.severity,
        mug=mug,
        status=status,  # type: ignore[arg-type]
        measured=measured,
        required=required,
        unit=unit,
        comparator=r.comparator,
        violation=max(0.0, float(violation)),
        message=message,
    )


def _fmt(v: float | None, unit: str | None) -> str:
    if v is None:
        return "unknown (no scale)"
    return f"{v:.1f} {unit}" if unit != "%" else f"{v:.1f}%"


def _measure(p: PreparedRule, ctx: _Context, m: int) -> tuple[float | None, float | None, str]:
    """Measured value, required value (rule unit) and a one-line message."""
    r = p.rule
    frame, boxes = ctx.frame, ctx.boxes
    b = boxes[m]
    unit = r.unit or "%"
    if r.kind == "in_work_area":
        wx1, wy1, wx2, wy2 = frame.work_area
        out = max(wx1 - b[0], b[2] - wx2, wy1 - b[1], b[3] - wy2, 0.0)
        v = frame.from_px(out, "%") or 0.0
        where = "the table or desk" if frame.work_area_source == "table" else "the image"
        if out <= 0.0:
            return v, 0.0, f"mug {m} stands inside the work area ({where})"
        return v, 0.0, f"mug {m} sticks out of the work area ({where}) by {out:.1f} px ({v:.1f}%)"
    need = f"needs {_SYMBOL.get(r.comparator or '', '')} {_fmt(r.value, unit)}"
    if r.kind == "edge_clearance":
        wx1, wy1, wx2, wy2 = frame.work_area
        gaps = {"left": b[0] - wx1, "right": wx2 - b[2], "top": b[1] - wy1, "bottom": wy2 - b[3]}
        vals = {}
        for e in r.edges or EDGES:
            base = frame.wa_width if e in ("left", "right") else frame.wa_height
            vals[e] = frame.from_px(gaps[e], unit, base)
        edge = min(vals, key=lambda e: (vals[e] if vals[e] is not None else math.inf, e))
        v = vals[edge]
        return v, r.value, f"mug {m}: {_fmt(v, unit)} from the {edge} edge, {need}"
    if r.kind in ("object_clearance", "mug_spacing"):
        if r.kind == "mug_spacing":
            j = int(np.argmin(ctx.gaps[m]))
            gap, what = float(ctx.gaps[m, j]), f"mug {j}"
        else:
            row = ctx.object_gaps(p.rects)[m]
            gap, what = float(row.min()), f"the {r.object_label}"
        v = frame.from_px(max(gap, 0.0), unit)
        where = f"overlaps {what}" if gap < 0 else f"{_fmt(v, unit)} from {what}"
        return v, r.value, f"mug {m}: {where}, {need}"
    if r.kind == "not_on_object":
        share = max(overlap_fraction(b, o) for o in p.rects) * 100.0
        text = f"is on the {r.object_label} ({share:.0f}% of the mug overlaps it)"
        if share == 0.0:
            text = f"is not on the {r.object_label}"
        return share, 0.0, f"mug {m} {text}"
    cx, cy = center(b)
    if r.kind in ("in_zone", "not_in_zone"):
        sd = min(rect_sd(cx, cy, z) for z in p.rects)
        u, v = frame.normalised(cx, cy)
        cell = frame.grid.cell_of(u, v)
        now = cell[0] if cell else "outside the work area"
        if r.kind == "in_zone":
            dist = frame.from_px(max(sd, 0.0), "%") or 0.0
            return dist, 0.0, f"mug {m} is in {now}; must be in {r.zone}"
        depth = frame.from_px(max(-sd, 0.0), "%") or 0.0
        return depth, 0.0, f"mug {m} is in {now}; must not be in {r.zone}"
    if r.kind == "near_target":
        d = min(math.hypot(cx - x, cy - y) for x, y in p.points)
        v = frame.from_px(d, unit)
        return v, r.value, f"mug {m}: {_fmt(v, unit)} from the {r.target} target, {need}"
    # alignment
    mx, my = ctx.median
    if r.axis == "row":
        dev = abs(cy - my)
    elif r.axis == "column":
        dev = abs(cx - mx)
    else:
        dev = math.hypot(cx - mx, cy - my)
    v = frame.from_px(dev, unit, percent_base(frame, r))
    return v, r.value, f"mug {m}: {_fmt(v, unit)} off the {r.axis}, {need}"
