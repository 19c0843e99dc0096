"""Rules → constraints on one mug's center: the single definition of what each rule means.

Both the evaluator (is this rule satisfied?) and the search (where is the nearest position that
satisfies it?) read these constraints, so a suggested move can never disagree with the check
that follows it. Values are converted to pixels once per scene in :func:`prepare_rules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from mugpos.positioning.cset import (
    HARD_WEIGHT,
    SEVERITY_WEIGHT,
    ConstraintBuilder,
    ConstraintSet,
)
from mugpos.positioning.frame import SceneFrame
from mugpos.positioning.geometry import BIG, Rect, box_gap, expand
from mugpos.positioning.safety import WORK_AREA_RULE_ID, WORK_AREA_RULE_NAME, Safety
from mugpos.positioning.targets import target_points
from mugpos.positioning.zones import ZoneError, to_pixels
from mugpos.rules.schema import Rule

NEEDS_SCALE = "needs a scale: give mm_per_px or a reference object of known size"
EDGES = ("left", "right", "top", "bottom")
HARD = -1  # owner of group 0 when containment is relaxed (stay inside the image)


@dataclass(slots=True)
class PreparedRule:
    """One enabled rule with its values in pixels for this scene."""

    rule: Rule
    weight: float
    not_applicable: str | None = None  # why the rule cannot be checked in this scene
    vacuous: str | None = None  # why the rule holds trivially (nothing to check against)
    not_found: str | None = None  # the object it is about is not in the scene ("no laptop found")
    builtin: bool = False  # the implicit work-area rule
    px: float = 0.0
    edge_px: dict[str, float] = field(default_factory=dict)
    rects: tuple[Rect, ...] = ()  # objects or zones, in pixels
    points: tuple[tuple[float, float], ...] = ()  # targets

    @property
    def active(self) -> bool:
        return self.not_applicable is None and self.vacuous is None and self.not_found is None

    @property
    def couples(self) -> bool:
        """Whether other mugs' positions enter this rule (so moving one mug changes another's)."""
        return self.rule.kind in ("mug_spacing", "alignment")


def percent_base(frame: SceneFrame, rule: Rule) -> float:
    """What 100 % means for a rule: the axis it measures along, else the work area's short side."""
    if rule.kind == "alignment" and rule.axis == "row":
        return frame.wa_height
    if rule.kind == "alignment" and rule.axis == "column":
        return frame.wa_width
    return frame.short_side


# The implicit containment rule: built without validation, its kind is not a user rule kind.
WORK_AREA_RULE = Rule.model_construct(
    id=WORK_AREA_RULE_ID, name=WORK_AREA_RULE_NAME, text=None, version=1, enabled=True,
    severity="critical", subject="mug", kind="in_work_area", comparator=None, value=None,
    unit=None, object_label=None, zone=None, target=None, axis=None, edges=None,
)  # fmt: skip


def prepare_rules(
    rules: Sequence[Rule], frame: SceneFrame, safety: Safety | None = None
) -> list[PreparedRule]:
    """The enabled rules in pixels, then the implicit work-area rule (unless relaxed)."""
    out = [_prepare(r, frame) for r in rules if r.enabled]
    if (safety or Safety()).in_work_area:
        out.append(PreparedRule(WORK_AREA_RULE, SEVERITY_WEIGHT["critical"], builtin=True))
    return out


def _prepare(rule: Rule, frame: SceneFrame) -> PreparedRule:
    p = PreparedRule(rule=rule, weight=SEVERITY_WEIGHT[rule.severity])
    at_least = rule.comparator == "at_least"
    kind = rule.kind
    if kind in ("object_clearance", "not_on_object"):
        # Said first: with no such object, a missing scale does not matter.
        label = rule.object_label or ""
        p.rects = frame.by_label.get(label, ())
        if not p.rects:
            p.not_found = f"no {label} found"
            return p
    if rule.value is not None and rule.unit is not None:
        if kind == "edge_clearance":
            for edge in rule.edges or EDGES:
                base = frame.wa_width if edge in ("left", "right") else frame.wa_height
                px = frame.to_px(rule.value, rule.unit, base)
                if px is None:
                    p.not_applicable = NEEDS_SCALE
                    return p
                p.edge_px[edge] = px
        else:
            px = frame.to_px(rule.value, rule.unit, percent_base(frame, rule))
            if px is None:
                p.not_applicable = NEEDS_SCALE
                return p
            p.px = px
    if kind in ("mug_spacing", "alignment") and len(frame.mugs) < 2:
        if kind == "mug_spacing" and not at_least:
            p.not_applicable = "needs at least two mugs"
        else:
            p.vacuous = "only one mug in the scene"
    elif kind in ("in_zone", "not_in_zone"):
        try:
            regions = frame.grid.region(rule.zone or "")
        except ZoneError as exc:
            p.not_applicable = exc.message
            return p
        p.rects = tuple(to_pixels(r, frame.work_area) for r in regions)
    elif kind == "near_target":
        if rule.target == "user":
            p.points = frame.target_points
        else:
            p.points = target_points(
                rule.target or "work_area_center", frame.width, frame.height, frame.work_area
            )
    return p


def lower_median(values: Sequence[float]) -> float:
    """The lower median: always one of the values, so the median mug itself never has to move."""
    s = sorted(values)
    return s[(len(s) - 1) // 2]


OVERLAP = -3  # owner of the "never onto another mug" group
ONTO = -2  # owner of the "never onto an object it was not on" group


class MugConstraints:
    """One mug's constraints, split into what depends only on its size (built once) and what
    depends on where the other mugs are (spacing, alignment, no overlap; rebuilt per state).

    Group 0 is the hard rectangle the center stays in (the work area, or the image when the
    caller relaxed containment); ``owners[g]`` is the index in ``prepared`` of the rule behind
    group ``g``, or ``HARD`` / ``ONTO`` / ``OVERLAP`` for the implicit hard groups.
    """

    def __init__(
        self,
        frame: SceneFrame,
        prepared: Sequence[PreparedRule],
        m: int,
        box: Rect,
        safety: Safety | None = None,
    ) -> None:
        safety = safety or Safety()
        self.m = m
        self.hw, self.hh = (box[2] - box[0]) / 2.0, (box[3] - box[1]) / 2.0
        self.prepared = prepared
        self.half = np.array([-self.hw, -self.hh, self.hw, self.hh])
        wx1, wy1, wx2, wy2 = frame.work_area
        self.wa_inner = (wx1 + self.hw, wy1 + self.hh, wx2 - self.hw, wy2 - self.hh)
        if safety.in_work_area:
            self.inner = self.wa_inner
        else:
            self.inner = (self.hw, self.hh, frame.width - self.hw, frame.height - self.hh)
        self.margin = safety.margin_pct / 100.0 * frame.short_side
        self.static = ConstraintBuilder(frame.diagonal, self.margin)
        self.static.group([(self.inner, 0.0)], inside=True, any_of=False, weight=HARD_WEIGHT)
        self.owners = [next((i for i, p in enumerate(prepared) if p.builtin), HARD)]
        if safety.no_new_object:
            # Objects it already overlaps are exempt: it may stay on them or slide off them.
            fresh = [o.rect for o in frame.objects if box_gap(box, o.rect) >= 0.0]
            if fresh:
                cores = np.asarray(fresh, dtype=np.float64) + self.half
                self.static.group_arrays(
                    cores, np.zeros(1), inside=False, any_of=False, weight=HARD_WEIGHT
                )
                self.owners.append(ONTO)
        self.overlap = safety.no_mug_overlap and len(frame.mugs) > 1
        self.dynamic: list[int] = []
        self._memo: dict[tuple[Rect, ...], tuple[ConstraintSet, list[int]]] = {}
        for i, p in enumerate(prepared):
            if not p.active or p.builtin:
                continue
            if p.couples:
                self.dynamic.append(i)
            elif self._add(self.static, p, ()) is not None:
                self.owners.append(i)

    def at(self, boxes: Sequence[Rect]) -> tuple[ConstraintSet, list[int]]:
        """The full constraint set given every mug's current box (memoised for the last state:
        the evaluation and the move search ask for the same one; one entry bounds memory)."""
        coupled = self.dynamic or self.overlap
        key = tuple(boxes) if coupled else ()
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        if not coupled:
            built = (self.static.build(), self.owners)
            self._memo[key] = built
            return built
        builder, owners = self.static.copy(), self.owners.copy()
        others = np.delete(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), self.m, axis=0)
        grown = others + self.half
        for i in self.dynamic:
            if self._add(builder, self.prepared[i], boxes, grown) is not None:
                owners.append(i)
        if self.overlap and grown.shape[0]:
            builder.group_arrays(grown, np.zeros(1), inside=False, any_of=False, weight=HARD_WEIGHT)
            owners.append(OVERLAP)
        self._memo.clear()
        self._memo[key] = (builder.build(), owners)
        return self._memo[key]

    def _add(
        self,
        builder: ConstraintBuilder,
        p: PreparedRule,
        boxes: Sequence[Rect],
        grown: np.ndarray | None = None,
    ) -> int | None:
        rule = p.rule
        kind = rule.kind
        hw, hh = self.hw, self.hh
        at_least = rule.comparator == "at_least"
        w = p.weight
        if kind == "mug_spacing":
            assert grown is not None
            return builder.group_arrays(
                grown, np.full(1, p.px), inside=not at_least, any_of=not at_least, weight=w
            )
        prims: list[tuple[Rect, float]]
        inside = not at_least
        any_of = not at_least
        if kind == "edge_clearance":
            # Sides the rule ignores stretch to infinity: they never bind.
            e, inner = p.edge_px, self.wa_inner
            core = (
                inner[0] + e["left"] if "left" in e else -BIG,
                inner[1] + e["top"] if "top" in e else -BIG,
                inner[2] - e["right"] if "right" in e else BIG,
                inner[3] - e["bottom"] if "bottom" in e else BIG,
            )
            prims, inside, any_of = [(core, 0.0)], at_least, False
        elif kind == "object_clearance":
            prims = [(expand(r, hw, hh), p.px) for r in p.rects]
        elif kind == "not_on_object":
            prims, inside, any_of = [(expand(r, hw, hh), 0.0) for r in p.rects], False, False
        elif kind == "in_zone":
            prims, inside, any_of = [(r, 0.0) for r in p.rects], True, True
        elif kind == "not_in_zone":
            prims, inside, any_of = [(r, 0.0) for r in p.rects], False, False
        elif kind == "near_target":
            prims = [((x, y, x, y), p.px) for x, y in p.points]
        else:  # alignment
            prims, inside, any_of = [alignment_core(rule.axis, boxes, p.px)], True, False
        return builder.group(prims, inside=inside, any_of=any_of, weight=w)


def mug_constraints(
    frame: SceneFrame,
    prepared: Sequence[PreparedRule],
    m: int,
    boxes: Sequence[Rect],
    safety: Safety | None = None,
) -> tuple[ConstraintSet, list[int]]:
    """Constraints on mug ``m``'s center given every mug's current box (see MugConstraints)."""
    return MugConstraints(frame, prepared, m, boxes[m], safety).at(boxes)


def alignment_core(axis: str | None, boxes: Sequence[Rect], tol: float) -> tuple[Rect, float]:
    """Where alignment puts a mug's center: a band (row, column) or a disk (cluster) around
    the lower median of every mug's center (memoised: every mug asks for the same state)."""
    return _alignment_core(axis, tuple(boxes), tol)


@lru_cache(maxsize=64)
def _alignment_core(axis: str | None, boxes: tuple[Rect, ...], tol: float) -> tuple[Rect, float]:
    xs = [(b[0] + b[2]) / 2.0 for b in boxes]
    ys = [(b[1] + b[3]) / 2.0 for b in boxes]
    if axis == "row":
        ref = lower_median(ys)
        return (-BIG, ref - tol, BIG, ref + tol), 0.0
    if axis == "column":
        ref = lower_median(xs)
        return (ref - tol, -BIG, ref + tol, BIG), 0.0
    mx, my = lower_median(xs), lower_median(ys)
    return (mx, my, mx, my), tol
