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
from mugpos.rules.evaluate import evaluate_rules
from mugpos.rules.schema import Rule
from mugpos.units import Scale

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
    for _ in range(draw(st.integers(1, 3))):
        dets.append(det("mug", draw(boxes(w, h, 0.04, 0.09))))
    mm_per_px = draw(st.floats(0.2, 3.0))
    return w, h, dets, draw(rule_sets()), mm_per_px


def run(w, h, dets, rules, mm_per_px) -> AnalysisResult:  # type: ignore[no-untyped-def]
    opts = AnalysisOptions(rules=rules, scale=Scale(mm_per_px=mm_per_px))
    return analyze(detections=dets, image_size=(w, h), options=opts)


@FAST
@given(scene=scenes())
def test_applying_suggested_moves_satisfies_the_rules(scene) -> None:  # type: ignore[no-untyped-def]
    w, h, dets, rules, mm = scene
    res = run(w, h, dets, rules, mm)
    frame = build_frame(dets, w, h, scale=Scale(mm_per_px=mm))
    after = evaluate_rules(rules, frame, [s.box.as_tuple() for s in res.suggestions])
    for s in res.suggestions:
        broken = {r.rule_id for r in after if r.mug == s.mug and r.status == "violated"}
        assert broken == set(s.unmet)
        if s.feasible:
            assert broken == set()
            # A mug that moved stays inside the work area.
            wa = res.layout.work_area.box
            if s.needed and s.move.length_px > 0:
                tol = 1e-6 * (w + h)
                assert wa.x1 - tol <= s.box.x1 and s.box.x2 <= wa.x2 + tol
                assert wa.y1 - tol <= s.box.y1 and s.box.y2 <= wa.y2 + tol
        if not s.needed:
            assert s.move.length_px == 0


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
    grid_costs = costs(grid.reshape(-1, 2), cs)
    s = res.suggestions[0]
    if (grid_costs == 0).any():
        assert s.feasible
    # Never further than the nearest feasible grid point (it is the smallest move).
    if s.needed and (grid_costs == 0).any():
        c = np.array([(mug.box.x1 + mug.box.x2) / 2, (mug.box.y1 + mug.box.y2) / 2])
        nearest = np.hypot(*(grid.reshape(-1, 2)[grid_costs == 0] - c).T).min()
        assert s.move.length_px <= nearest + 1e-6
