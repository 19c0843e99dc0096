"""Ground-truth rule verdicts and zones, computed independently of the positioning engine.

The engine compiles rules into constraints on a mug's centre; here each rule of the test rule
set is checked the plain way (box gaps, edge gaps, the centre's grid cell), straight from
docs/positioning.md. Two implementations that agree on every ground-truth scene (a test checks
it) make the verdict metrics mean something: the expected verdict is not just the engine's own
answer fed back to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from evaluation.dataset import GtObject, Verdict, Xyxy
from mugpos.labels import MUG
from mugpos.rules.schema import Rule

ZONE_NAMES = (
    ("top-left", "top-center", "top-right"),
    ("middle-left", "center", "middle-right"),
    ("bottom-left", "bottom-center", "bottom-right"),
)

# The test rule set of the procedural scenes: one rule per kind the truth below implements,
# with values chosen so that both verdicts occur often (see the dataset summary).
TEST_RULES: tuple[Rule, ...] = (
    Rule(id="edge-5pct", name="5% from the table edges", kind="edge_clearance", value=5, unit="%"),
    Rule(
        id="laptop-10cm",
        name="10 cm from the laptop",
        kind="object_clearance",
        object_label="laptop",
        value=10,
        unit="cm",
    ),
    Rule(id="spacing-8cm", name="mugs 8 cm apart", kind="mug_spacing", value=8, unit="cm"),
    Rule(id="not-corner", name="not in a corner", kind="not_in_zone", zone="corner"),
    Rule(id="front-half", name="in the front half", kind="in_zone", zone="bottom-half"),
)
_REGIONS: dict[str, list[Xyxy]] = {
    "corner": [
        (0, 0, 1 / 3, 1 / 3),
        (2 / 3, 0, 1, 1 / 3),
        (0, 2 / 3, 1 / 3, 1),
        (2 / 3, 2 / 3, 1, 1),
    ],
    "bottom-half": [(0, 0.5, 1, 1)],
}
_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4}
# A suggested move lands exactly on a rule's boundary, which counts as satisfied; this much
# (a share of the work-area diagonal) absorbs the float noise of getting there.
REL_TOL = 1e-6


def box_gap(a: Xyxy, b: Xyxy) -> float:
    """Euclidean distance between two boxes; 0 when they touch or overlap."""
    dx = max(b[0] - a[2], a[0] - b[2], 0.0)
    dy = max(b[1] - a[3], a[1] - b[3], 0.0)
    return math.hypot(dx, dy)


def centre(box: Xyxy) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)


def zone_of(box: Xyxy, work_area: Xyxy) -> str | None:
    """The 3x3 grid cell holding the box's centre, ``None`` outside the work area."""
    cx, cy = centre(box)
    u = (cx - work_area[0]) / (work_area[2] - work_area[0])
    v = (cy - work_area[1]) / (work_area[3] - work_area[1])
    if not (0.0 <= u <= 1.0 and 0.0 <= v <= 1.0):
        return None
    return ZONE_NAMES[min(int(v * 3), 2)][min(int(u * 3), 2)]


def truth_verdicts(
    objects: Sequence[GtObject],
    work_area: Xyxy,
    mm_per_px: float | None,
    rules: Sequence[Rule] = TEST_RULES,
) -> list[Verdict]:
    """Expected verdict of every rule on every mug (mugs in ``objects`` order)."""
    mugs = [o.box for o in objects if o.label == MUG]
    return [
        Verdict(rule.id, m, _status(rule, m, mugs, objects, work_area, mm_per_px))
        for rule in rules
        for m in range(len(mugs))
    ]


def _status(
    rule: Rule,
    m: int,
    mugs: Sequence[Xyxy],
    objects: Sequence[GtObject],
    wa: Xyxy,
    mm_per_px: float | None,
) -> str:
    box = mugs[m]
    wa_w, wa_h = wa[2] - wa[0], wa[3] - wa[1]
    tol = REL_TOL * math.hypot(wa_w, wa_h)  # px
    if rule.kind == "edge_clearance":
        assert rule.unit == "%" and rule.value is not None and rule.edges is None
        need_x, need_y = rule.value / 100.0 * wa_w, rule.value / 100.0 * wa_h
        gaps = (
            box[0] - wa[0] - need_x,
            wa[2] - box[2] - need_x,
            box[1] - wa[1] - need_y,
            wa[3] - box[3] - need_y,
        )
        return _verdict(min(gaps) >= -tol)
    if rule.kind in ("object_clearance", "mug_spacing"):
        assert rule.comparator == "at_least" and rule.value is not None and rule.unit in _MM
        if mm_per_px is None:
            return "not_applicable"
        need_px = rule.value * _MM[rule.unit] / mm_per_px
        if rule.kind == "mug_spacing":
            others = [b for j, b in enumerate(mugs) if j != m]
        else:
            others = [o.box for o in objects if o.label == rule.object_label]
        return _verdict(all(box_gap(box, o) >= need_px - tol for o in others))
    if rule.kind in ("in_zone", "not_in_zone"):
        cx, cy = centre(box)
        # Zones in pixels; the boundary counts as inside and as outside (docs/positioning.md).
        cells = [
            (wa[0] + c[0] * wa_w, wa[1] + c[1] * wa_h, wa[0] + c[2] * wa_w, wa[1] + c[3] * wa_h)
            for c in _REGIONS[rule.zone or ""]
        ]
        if rule.kind == "in_zone":
            return _verdict(any(_inside(cx, cy, c, tol) for c in cells))
        return _verdict(not any(_inside(cx, cy, c, -tol) for c in cells))
    raise ValueError(f"no ground truth for rule kind {rule.kind}")


def _inside(x: float, y: float, cell: Xyxy, grow: float) -> bool:
    """Inside ``cell`` grown by ``grow`` px (shrunk when negative: strictly inside)."""
    return cell[0] - grow <= x <= cell[2] + grow and cell[1] - grow <= y <= cell[3] + grow


def _verdict(ok: bool) -> str:
    return "satisfied" if ok else "violated"
