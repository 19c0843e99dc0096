"""Properties over random procedural scenes: moves work, scale does not matter, order does not."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scene_helpers import det, rule

from mugpos.analysis import AnalysisOptions, AnalysisResult, analyze
from mugpos.detections import Detection
from mugpos.positioning.constraints import MugConstraints, prepare_rules
from mugpos.positioning.cset import costs
from mugpos.positioning.frame import build_frame
from mugpos.positioning.geometry import box_gap
from mugpos.positioning.zones import DEFAULT_NAMES
from mugpos.rules.schema import Rule
from mugpos.units import Scale

CELLS = {n for row in DEFAULT_NAMES for n in row}
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def boxes(draw, w: float, h: float, lo: float, hi: float):  # type: ignore[no-untyped-def]
    bw = draw(st.floats(lo, hi)) * w
    bh = draw(st.floats(lo, hi)) * h
    x = draw(st.floats(0, w - bw))
    y = draw(st.floats(0, h - bh))
    return (x, y, x + bw, y + bh)


@st.composite
def rule_sets(draw):  # type: ignore[no-untyped-def]
    sev = st.sampled_from(["info", "warning", "critical"])
    pct = st.floats(0.5, 12)
    pool = [
        rule("edge_clearance", value=draw(pct), unit="%", severity=draw(sev)),
        rule("object_clearance", value=draw(pct), unit="%", object_label="laptop"),
        rule("object_clearance", "kb-mm", value=draw(st.floats(5, 80)), unit="mm",
             object_label="keyboard", severity=draw(sev)),
        rule("not_on_object", object_label="book", severity=draw(sev)),
        rule("mug_spacing", value=draw(pct), unit="%", severity=draw(sev)),
        rule("not_in_zone", zone="corner", severity=draw(sev)),
        rule("in_zone", zone=draw(st.sampled_from(["left-half", "bottom-half"])), severity="info"),
        rule("in_zone", "in-cell", zone=draw(st.sampled_from(["center", "top-right"])),
             severity=draw(sev)),
        rule("alignment", "cluster", axis="cluster", value=draw(st.floats(10, 30)), unit="%"),
        rule("near_target", value=draw(st.floats(5, 40)), unit="%", severity="info"),
        rule("alignment", axis=draw(st.sampled_from(["row", "column"])), value=draw(pct), unit="%"),
    ]  # fmt: skip
    picked = draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=5, unique=True))
    return [pool[i] for i in sorted(picked)]


@st.composite
def scenes(draw):  # type: ignore[no-untyped-def]
    w = float(draw(st.integers(320, 1600)))
    h = float(draw(st.integers(240, 1200)))
    dets: list[Detection] = []
    if draw(st.booleans()):
        dets.append(det("table", draw(boxes(w, h, 0.6, 1.0))))
    for label in draw(st.lists(st.sampled_from(["laptop", "keyboard", "book"]), max_size=3)):
        dets.append(det(label, draw(boxes(w, h, 0.08, 0.3))))
    for _ in range(draw(st.integers(1, 4))):
        dets.append(det("mug", draw(boxes(w, h, 0.04, 0.09))))
    mm_per_px = draw(st.floats(0.2, 3.0))
    return w, h, dets, draw(rule_sets()), mm_per_px


def run(w, h, dets, rules, mm_per_px) -> AnalysisResult:  # type: ignore[no-untyped-def]
    opts = AnalysisOptions(rules=rules, scale=Scale(mm_per_px=mm_per_px))
    return analyze(detections=dets, image_size=(w, h), options=opts)


def _overlapping(boxes: list[tuple[float, float, float, float]]) -> set[tuple[int, int]]:
    return {
        (i, j)
        for i in range(len(boxes))
        for j in range(i + 1, len(boxes))
        if box_gap(boxes[i], boxes[j]) < -1e-9
    }


def _moved_scene(dets: list[Detection], res: AnalysisResult) -> list[Detection]:
    """The scene with every mug at its suggested box (the same detections otherwise)."""
    out = list(dets)
    for s in res.suggestions:
        i = res.layout.mugs[s.mug].detection
        out[i] = det("mug", s.box.as_tuple())
    return out


@FAST
@given(scene=scenes())
def test_applying_the_moves_and_re_analysing_confirms_the_plan(scene) -> None:  # type: ignore[no-untyped-def]
    """Apply the suggested moves, run the whole analysis again on the moved boxes: every mug
    the plan calls feasible has no violation, no new mug-mug overlap, no mug moved onto an
    object it was not on, every moved mug on the work area, the same verdicts as the plan said,
    and a mug moved into a zone is reported in that zone."""
    w, h, dets, rules, mm = scene
    res = run(w, h, dets, rules, mm)
    again = run(w, h, _moved_scene(dets, res), rules, mm)
    start = [m.box.as_tuple() for m in res.layout.mugs]
    final = [s.box.as_tuple() for s in res.suggestions]
    moved = {s.mug for s in res.suggestions if s.move.length_px > 0}
    # Mug indices are sorted by position, so map the re-analysis back through detections.
    index_of = {m.detection: m.index for m in again.layout.mugs}
    again_mug = {s.mug: index_of[res.layout.mugs[s.mug].detection] for s in res.suggestions}
    for s in res.suggestions:
        broken = {
            r.rule_id
            for r in again.rule_results
            if r.mug == again_mug[s.mug] and r.status == "violated"
        }
        assert broken == set(s.unmet)
        if s.feasible:
            assert broken == set()
        if not s.needed:
            assert s.move.length_px == 0
    new_pairs = _overlapping(final) - _overlapping(start)
    assert not new_pairs
    assert not any(i in moved or j in moved for i, j in _overlapping(final))
    objects = [d.box.as_tuple() for d in dets if d.label in ("laptop", "keyboard", "book")]
    wa = res.layout.work_area.box
    tol = 1e-6 * (w + h)
    for m in moved:
        for o in objects:
            if box_gap(start[m], o) >= 0:
                assert box_gap(final[m], o) >= -tol
        b = final[m]
        assert wa.x1 - tol <= b[0] and b[2] <= wa.x2 + tol
        assert wa.y1 - tol <= b[1] and b[3] <= wa.y2 + tol
        zone_rules = [r for r in rules if r.kind == "in_zone" and r.zone in CELLS]
        for r in zone_rules:
            if r.id not in res.suggestions[m].unmet:
                assert again.layout.mugs[again_mug[m]].zone == r.zone


@FAST
@given(scene=scenes())
def test_an_infeasible_single_mug_gets_the_least_severe_compromise(scene) -> None:  # type: ignore[no-untyped-def]
    """With one mug the plan is exact: when it says infeasible, no point of a fine grid over
    the work area violates less weight (hard constraints included), and the reported unmet
    rules are what a re-analysis finds."""
    w, h, dets, rules, mm = scene
    mug = next(d for d in dets if d.label == "mug")
    dets = [d for d in dets if d.label != "mug"] + [mug]
    res = run(w, h, dets, rules, mm)
    s = res.suggestions[0]
    frame = build_frame(dets, w, h, scale=Scale(mm_per_px=mm))
    prepared = prepare_rules(rules, frame)
    cs, _ = MugConstraints(frame, prepared, 0, frame.mugs[0]).at(frame.mugs)
    x1, y1, x2, y2 = cs.cores[0]
    grid = np.stack(np.meshgrid(np.linspace(x1, x2, 61), np.linspace(y1, y2, 61)), -1)
    best_grid = costs(grid.reshape(-1, 2), cs, tight=True).min()
    final = costs(np.array([s.box.center]), cs)[0]
    if not s.feasible:
        assert s.unmet
        assert final <= best_grid + 1e-9
    else:
        assert final == 0.0


def _scaled(dets: list[Detection], k: float) -> list[Detection]:
    return [det(d.label, tuple(v * k for v in d.box.as_tuple())) for d in dets]  # type: ignore[arg-type]


@FAST
@given(scene=scenes(), k=st.sampled_from([0.5, 2.0, 3.7]))
def test_normalised_outputs_are_invariant_under_image_scaling(scene, k: float) -> None:  # type: ignore[no-untyped-def]
    w, h, dets, rules, mm = scene
    a = run(w, h, dets, rules, mm)
    b = run(w * k, h * k, _scaled(dets, k), rules, mm / k)
    approx = pytest.approx
    for ma, mb in zip(a.layout.mugs, b.layout.mugs, strict=True):
        assert (mb.center_image.x, mb.center_image.y) == approx(
            (ma.center_image.x, ma.center_image.y)
        )
        assert mb.zone == ma.zone
        assert mb.edges.left.pct == approx(ma.edges.left.pct, abs=1e-9)
        assert [o.distance.pct for o in mb.objects] == approx([o.distance.pct for o in ma.objects])
        assert mb.center_mm.x == approx(ma.center_mm.x)  # type: ignore[union-attr]
    for ra, rb in zip(a.rule_results, b.rule_results, strict=True):
        assert (rb.rule_id, rb.mug, rb.status) == (ra.rule_id, ra.mug, ra.status)
        if ra.measured is not None and ra.unit in ("%", "mm"):
            assert rb.measured == approx(ra.measured, rel=1e-6, abs=1e-6)
    for sa, sb in zip(a.suggestions, b.suggestions, strict=True):
        assert (sb.feasible, sb.unmet) == (sa.feasible, sa.unmet)
        assert (sb.move.dx_pct, sb.move.dy_pct) == approx(
            (sa.move.dx_pct, sa.move.dy_pct), abs=1e-6
        )
    assert b.scores == a.scores
    assert b.rules_hash == a.rules_hash


@FAST
@given(scene=scenes(), seed=st.randoms(use_true_random=False))
def test_results_do_not_depend_on_rule_or_detection_order(scene, seed) -> None:  # type: ignore[no-untyped-def]
    w, h, dets, rules, mm = scene
    a = run(w, h, dets, rules, mm)
    shuffled_rules: list[Rule] = list(rules)
    shuffled_dets = list(dets)
    seed.shuffle(shuffled_rules)
    seed.shuffle(shuffled_dets)
    b = run(w, h, shuffled_dets, shuffled_rules, mm)
    key = lambda r: (r.rule_id, r.mug)  # noqa: E731
    assert sorted(a.rule_results, key=key) == sorted(b.rule_results, key=key)
    assert [(s.box, s.feasible, sorted(s.unmet)) for s in a.suggestions] == [
        (s.box, s.feasible, sorted(s.unmet)) for s in b.suggestions
    ]
    assert a.rules_hash == b.rules_hash and a.scores == b.scores


@FAST
@given(scene=scenes())
def test_a_single_mug_finds_a_feasible_position_whenever_one_exists(scene) -> None:  # type: ignore[no-untyped-def]
    w, h, dets, rules, mm = scene
    mug = next(d for d in dets if d.label == "mug")
    dets = [d for d in dets if d.label != "mug"] + [mug]
    res = run(w, h, dets, rules, mm)
    frame = build_frame(dets, w, h, scale=Scale(mm_per_px=mm))
    cs, _ = MugConstraints(frame, prepare_rules(rules, frame), 0, frame.mugs[0]).at(frame.mugs)
    x1, y1, x2, y2 = cs.cores[0]  # where the mug's center may go
    grid = np.stack(np.meshgrid(np.linspace(x1, x2, 61), np.linspace(y1, y2, 61)), -1)
    grid_costs = costs(grid.reshape(-1, 2), cs, tight=True)  # with the plan's margin
    s = res.suggestions[0]
    if (grid_costs == 0).any():
        assert s.feasible
    # Never further than the nearest feasible grid point (it is the smallest move).
    if s.needed and (grid_costs == 0).any():
        c = np.array([(mug.box.x1 + mug.box.x2) / 2, (mug.box.y1 + mug.box.y2) / 2])
        nearest = np.hypot(*(grid.reshape(-1, 2)[grid_costs == 0] - c).T).min()
        assert s.move.length_px <= nearest + 1e-6
