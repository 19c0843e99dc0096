"""Rules → constraints on one mug's center: the single definition of what each rule means.

Both the evaluator (is this rule satisfied?) and the search (where is the nearest position that
satisfies it?) read these constraints, so a suggested move can never disagree with the check
that follows it. Values are converted to pixels once per scene in :func:`prepare_rules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mugpos.positioning.cset import (
    HARD_WEIGHT,
    SEVERITY_WEIGHT,
    ConstraintBuilder,
    ConstraintSet,
)
from mugpos.positioning.frame import SceneFrame
from mugpos.positioning.geometry import BIG, Rect, expand
from mugpos.positioning.targets import target_points
from mugpos.positioning.zones import ZoneError, to_pixels
from mugpos.rules.schema import Rule

NEEDS_SCALE = "needs a scale: give mm_per_px or a reference object of known size"
EDGES = ("left", "right", "top", "bottom")
HARD = -1  # group id of "stay inside the work area"


@dataclass(slots=True)
class PreparedRule:
    """One enabled rule with its values in pixels for this scene."""

    rule: Rule
    weight: float
    not_applicable: str | None = None  # why the rule cannot be checked in this scene
    vacuous: str | None = None  # why the rule holds trivially (nothing to check against)
    px: float = 0.0
    edge_px: dict[str, float] = field(default_factory=dict)
    rects: tuple[Rect, ...] = ()  # objects or zones, in pixels
    points: tuple[tuple[float, float], ...] = ()  # targets

    @property
    def active(self) -> bool:
        return self.not_applicable is None and self.vacuous is None

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


def prepare_rules(rules: Sequence[Rule], frame: SceneFrame) -> list[PreparedRule]:
    return [_prepare(r, frame) for r in rules if r.enabled]


def _prepare(rule: Rule, frame: SceneFrame) -> PreparedRule:
    p = PreparedRule(rule=rule, weight=SEVERITY_WEIGHT[rule.severity])
    at_least = rule.comparator == "at_least"
    kind = rule.kind
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
    if kind in ("object_clearance", "not_on_object"):
        label = rule.object_label or ""
        p.rects = frame.by_label.get(label, ())
        if not p.rects:
            if kind == "not_on_object" or at_least:
                p.vacuous = f"no {label} in the scene"
            else:
                p.not_applicable = f"no {label} in the scene to be near"
    elif kind in ("mug_spacing", "alignment") and len(frame.mugs) < 2:
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


class MugConstraints:
    """One mug's constraints, split into what depends only on its size (built once) and what
    depends on where the other mugs are (spacing, alignment; rebuilt per state).

    Group 0 is the hard work-area rectangle; ``owners[g]`` is the index in ``prepared`` of the
    rule behind group ``g`` (``HARD`` for group 0).
    """

    def __init__(
        self, frame: SceneFrame, prepared: Sequence[PreparedRule], m: int, box: Rect
    ) -> None:
        self.m = m
        self.hw, self.hh = (box[2] - box[0]) / 2.0, (box[3] - box[1]) / 2.0
        self.prepared = prepared
        wx1, wy1, wx2, wy2 = frame.work_area
        self.inner = (wx1 + self.hw, wy1 + self.hh, wx2 - self.hw, wy2 - self.hh)
        self.static = ConstraintBuilder(frame.diagonal)
        self.static.group([(self.inner, 0.0)], inside=True, any_of=False, weight=HARD_WEIGHT)
        self.owners = [HARD]
        self.dynamic: list[int] = []
        self._memo: dict[tuple[Rect, ...], tuple[ConstraintSet, list[int]]] = {}
        for i, p in enumerate(prepared):
            if not p.active:
                continue
            if p.couples:
                self.dynamic.append(i)
            elif self._add(self.static, p, ()) is not None:
                self.owners.append(i)

    def at(self, boxes: Sequence[Rect]) -> tuple[ConstraintSet, list[int]]:
        """The full constraint set given every mug's current box (memoised per state: the
        evaluation and the move search ask for the same states)."""
        key = tuple(boxes) if self.dynamic else ()
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        builder, owners = self.static.copy(), self.owners.copy()
        for i in self.dynamic:
            if self._add(builder, self.prepared[i], boxes) is not None:
                owners.append(i)
        if len(self._memo) >= 8:
            self._memo.clear()
        self._memo[key] = (builder.build(), owners)
        return self._memo[key]

    def _add(
        self, builder: ConstraintBuilder, p: PreparedRule, boxes: Sequence[Rect]
    ) -> int | None:
        rule = p.rule
        kind = rule.kind
        hw, hh = self.hw, self.hh
        at_least = rule.comparator == "at_least"
        prims: list[tuple[Rect, float]]
        inside = not at_least
        any_of = not at_least
        if kind == "edge_clearance":
            # Sides the rule ignores stretch to infinity: they never bind.
            e, inner = p.edge_px, self.inner
            core = (
                inner[0] + e["left"] if "left" in e else -BIG,
                inner[1] + e["top"] if "top" in e else -BIG,
                inner[2] - e["right"] if "right" in e else BIG,
                inner[3] - e["bottom"] if "bottom" in e else BIG,
            )
            prims, inside, any_of = [(core, 0.0)], at_least, False
        elif kind == "object_clearance":
            prims = [(expand(r, hw, hh), p.px) for r in p.rects]
        elif kind == "mug_spacing":
            prims = [(expand(o, hw, hh), p.px) for j, o in enumerate(boxes) if j != self.m]
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
        return builder.group(prims, inside=inside, any_of=any_of, weight=p.weight)


def mug_constraints(
    frame: SceneFrame, prepared: Sequence[PreparedRule], m: int, boxes: Sequence[Rect]
) -> tuple[ConstraintSet, list[int]]:
    """Constraints on mug ``m``'s center given every mug's current box (see MugConstraints)."""
    return MugConstraints(frame, prepared, m, boxes[m]).at(boxes)


def alignment_core(axis: str | None, boxes: Sequence[Rect], tol: float) -> tuple[Rect, float]:
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
