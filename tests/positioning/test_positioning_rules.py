"""Each rule kind on procedural scenes with hand-computed results and moves."""

from __future__ import annotations

import math

import pytest
from scene_helpers import det, rule

from mugpos.analysis import AnalysisOptions, AnalysisResult, analyze
from mugpos.positioning.safety import WORK_AREA_RULE_ID, Safety
from mugpos.units import Scale

TABLE = det("table", (100, 100, 900, 700))  # work area 800 x 600


def run(dets, rules, size=(1000, 800), **opts) -> AnalysisResult:  # type: ignore[no-untyped-def]
    """These tests check each rule's exact geometry, so moves keep no margin here (the margin
    has its own tests in test_positioning_safety.py)."""
    opts.setdefault("safety", Safety(margin_pct=0.0))
    return analyze(detections=dets, image_size=size, options=AnalysisOptions(rules=rules, **opts))


def user_statuses(res: AnalysisResult) -> list[str]:
    """Statuses of the user's rules (without the implicit work-area rule)."""
    return [r.status for r in res.rule_results if r.rule_id != WORK_AREA_RULE_ID]


def result(res: AnalysisResult, rule_id: str, mug: int = 0):  # type: ignore[no-untyped-def]
    return next(r for r in res.rule_results if r.rule_id == rule_id and r.mug == mug)


def test_edge_clearance_percent_per_axis() -> None:
    mug = det("mug", (110, 300, 170, 360))  # 10 px from the table's left edge
    res = run([TABLE, mug], [rule("edge_clearance", value=5, unit="%")])
    r = result(res, "edge-clearance")
    assert r.status == "violated"
    assert r.measured == pytest.approx(1.25)  # 10 px of 800
    assert r.required == 5.0 and r.unit == "%" and r.comparator == "at_least"
    s = res.suggestions[0]
    assert s.needed and s.feasible
    assert (s.move.dx_px, s.move.dy_px) == pytest.approx((30.0, 0.0))  # 5% of 800 = 40 px
    assert s.move.dx_pct == pytest.approx(30 / 800 * 100)
    assert s.box.x1 == pytest.approx(140.0)
    assert s.fixes == ["edge-clearance"] and s.unmet == []


def test_edge_clearance_on_named_edges_only() -> None:
    mug = det("mug", (110, 640, 170, 700))  # touches the left and bottom edges
    r = rule("edge_clearance", value=20, unit="px", edges=("bottom",))
    res = run([TABLE, mug], [r])
    assert result(res, "edge-clearance").measured == 0.0
    assert (res.suggestions[0].move.dx_px, res.suggestions[0].move.dy_px) == pytest.approx(
        (0.0, -20.0)
    )


def test_object_clearance_in_inches_with_a_scale() -> None:
    laptop = det("laptop", (300, 200, 600, 400))
    mug = det("mug", (652.4 - 0.0, 250, 712.4, 310))  # 52.4 px right of the laptop
    six_inches = rule("object_clearance", value=6, unit="in", object_label="laptop")
    res = run([TABLE, laptop, mug], [six_inches], scale=Scale(mm_per_px=1.0))
    r = result(res, "object-clearance")
    assert r.status == "violated"
    assert r.measured == pytest.approx(52.4 / 25.4)
    assert r.required == 6.0 and r.unit == "in"
    s = res.suggestions[0]
    assert (s.move.dx_px, s.move.dy_px) == pytest.approx((100.0, 0.0))  # to 152.4 px
    assert s.move.dx_mm == pytest.approx(100.0)
    # Without a scale the rule cannot be checked: not applicable, and nothing moves.
    res = run([TABLE, laptop, mug], [six_inches])
    assert result(res, "object-clearance").status == "not_applicable"
    assert not res.suggestions[0].needed
    assert any("scale" in n for n in res.notes)


def test_object_clearance_at_most_and_missing_object() -> None:
    laptop = det("laptop", (300, 200, 600, 400))
    mug = det("mug", (700, 250, 760, 310))  # 100 px right of the laptop
    near = rule(
        "object_clearance", value=40, unit="px", object_label="laptop", comparator="at_most"
    )
    res = run([TABLE, laptop, mug], [near])
    assert result(res, "object-clearance").status == "violated"
    assert res.suggestions[0].move.dx_px == pytest.approx(-60.0)
    res = run([TABLE, mug], [near])  # no laptop: neither satisfied nor violated, it says so
    r = result(res, "object-clearance")
    assert r.status == "not_found" and r.message == "no laptop found" and not r.satisfied
    assert not res.suggestions[0].needed and res.scores.mugs == [100.0]
    assert any(n.startswith("no laptop found") for n in res.notes)
    away = rule("object_clearance", value=40, unit="px", object_label="laptop")
    assert result(run([TABLE, mug], [away]), "object-clearance").status == "not_found"


def test_mug_spacing_moves_one_mug_only() -> None:
    a = det("mug", (300, 300, 360, 360))
    b = det("mug", (400, 300, 460, 360))  # 40 px apart
    res = run([TABLE, a, b], [rule("mug_spacing", value=5, unit="cm")], scale=Scale(mm_per_px=0.5))
    assert user_statuses(res) == ["violated", "violated"]
    assert result(res, "mug-spacing").measured == pytest.approx(2.0)  # 40 px = 2 cm
    s0, s1 = res.suggestions
    assert s0.needed and s1.needed
    moved = [s for s in res.suggestions if s.move.length_px > 0]
    assert len(moved) == 1 and moved[0].move.length_px == pytest.approx(60.0)
    assert s0.feasible and s1.feasible and s1.unmet == []


def test_overlapping_mugs() -> None:
    a = det("mug", (300, 300, 360, 360))
    b = det("mug", (340, 300, 400, 360))  # 20 px overlap
    res = run([TABLE, a, b], [rule("mug_spacing", value=0, unit="px")])
    r = result(res, "mug-spacing")
    assert r.status == "violated" and "overlaps mug 1" in r.message
    assert max(s.move.length_px for s in res.suggestions) == pytest.approx(20.0)
    assert all(s.feasible for s in res.suggestions)


def test_in_zone_center_goes_to_the_nearest_corner_of_the_zone() -> None:
    mug = det("mug", (80, 80, 120, 120))  # center (100, 100), image 900 x 900, no table
    res = run([mug], [rule("in_zone", zone="center")], size=(900, 900))
    r = result(res, "in-zone")
    assert r.status == "violated" and "top-left" in r.message
    s = res.suggestions[0]
    assert (s.move.dx_px, s.move.dy_px) == pytest.approx((200.0, 200.0))
    assert res.layout.work_area.source == "image"


def test_not_in_zone_corner() -> None:
    mug = det("mug", (80, 80, 120, 120))
    res = run([mug], [rule("not_in_zone", zone="corner")], size=(900, 900))
    assert result(res, "not-in-zone").status == "violated"
    s = res.suggestions[0]
    assert s.move.length_px == pytest.approx(200.0)
    assert 0.0 in (s.move.dx_px, s.move.dy_px)  # straight out of the corner cell


def test_near_target_center_in_percent() -> None:
    mug = det("mug", (80, 380, 120, 420))  # center (100, 400); image 1000 x 800
    near = rule("near_target", value=5, unit="%", target="work_area_center")
    res = run([mug], [near])
    r = result(res, "near-target")
    assert r.measured == pytest.approx(400 / 800 * 100)
    assert res.suggestions[0].move.dx_px == pytest.approx(360.0)  # to 40 px from (500, 400)


def test_alignment_row_uses_the_median_mug() -> None:
    mugs = [
        det("mug", (100, 70, 160, 130)),  # y 100
        det("mug", (300, 75, 360, 135)),  # y 105 (the lower median)
        det("mug", (500, 130, 560, 190)),  # y 160
    ]
    res = run(mugs, [rule("alignment", axis="row", value=10, unit="px")])
    assert user_statuses(res) == ["satisfied", "satisfied", "violated"]
    assert result(res, "alignment", 2).measured == pytest.approx(55.0)
    moves = [(s.move.dx_px, s.move.dy_px) for s in res.suggestions]
    assert moves[0] == (0, 0) and moves[1] == (0, 0)
    assert moves[2] == pytest.approx((0.0, -45.0))


def test_not_on_object_and_mug_fully_on_a_laptop() -> None:
    laptop = det("laptop", (100, 100, 500, 400))
    mug = det("mug", (200, 200, 260, 260))
    res = run([laptop, mug], [rule("not_on_object", object_label="laptop", severity="critical")])
    r = result(res, "not-on-object")
    assert r.status == "violated" and r.measured == 100.0 and r.severity == "critical"
    assert res.layout.mugs[0].objects[0].overlap == 1.0
    assert res.suggestions[0].move.length_px == pytest.approx(160.0)  # out through left or top
    keyboard = det("keyboard", (300, 420, 600, 500))
    corner = det("mug", (570, 380, 630, 440))  # 20 px into the keyboard's top, 30 into its side
    res = run([keyboard, corner], [rule("not_on_object", object_label="keyboard")])
    assert (res.suggestions[0].move.dx_px, res.suggestions[0].move.dy_px) == pytest.approx(
        (0.0, -20.0)
    )


def test_mug_touching_the_image_border() -> None:
    mug = det("mug", (0, 0, 50, 50))
    res = run([mug], [rule("edge_clearance", value=10, unit="px")], size=(640, 480))
    assert result(res, "edge-clearance").measured == 0.0
    s = res.suggestions[0]
    assert (s.move.dx_px, s.move.dy_px) == pytest.approx((10.0, 10.0))
    assert s.move.length_px == pytest.approx(math.sqrt(200))


def test_no_feasible_position_returns_the_least_severe_violation() -> None:
    mug = det("mug", (430, 430, 470, 470))  # center (450, 450) of 900 x 900
    rules = [
        rule("in_zone", "top-left", zone="top-left", severity="critical"),
        rule("in_zone", "bottom-right", zone="bottom-right", severity="warning"),
    ]
    res = run([mug], rules, size=(900, 900))
    s = res.suggestions[0]
    assert not s.feasible and s.needed
    assert s.unmet == ["bottom-right"] and s.fixes == ["top-left"]
    assert (s.move.dx_px, s.move.dy_px) == pytest.approx((-150.0, -150.0))
    assert "least severe" in s.message
    # A zone's boundary belongs to it and to its outside: both hold there.
    both = [
        rule("in_zone", "in-center", zone="center", severity="critical"),
        rule("not_in_zone", "out-center", zone="center"),
    ]
    s = run([det("mug", (80, 80, 120, 120))], both, size=(900, 900)).suggestions[0]
    assert s.feasible and (s.box.x1 + s.box.x2) / 2 == pytest.approx(300.0)


def test_no_mugs() -> None:
    res = run(
        [TABLE, det("laptop", (300, 200, 600, 400))], [rule("mug_spacing", value=1, unit="cm")]
    )
    assert res.rule_results == [] and res.suggestions == []
    # Nothing seen is nothing scored: never a 100 for a scene where the detector found no mug.
    assert res.scores.scene is None and res.scores.mugs == []
    assert res.scores.reason == "no mug found: not scored"
    assert "no mug found: not scored" in res.notes


def test_scores_follow_the_documented_formula() -> None:
    mug = det("mug", (110, 300, 170, 360))  # 10 px from the left edge, needs 40
    res = run([TABLE, mug], [rule("edge_clearance", value=5, unit="%")])
    r = result(res, "edge-clearance")
    diag = math.hypot(800, 600)
    assert r.violation == pytest.approx(30 / (0.1 * diag))
    assert res.scores.mugs == [round(100 - 20 * (0.5 + 0.5 * r.violation), 1)]
    assert res.scores.scene == res.scores.mugs[0]
    ok = run([TABLE, mug], [rule("edge_clearance", value=1, unit="px")])
    assert ok.scores.scene == 100.0


def test_a_mug_freed_by_another_mugs_move_stays() -> None:
    laptop = det("laptop", (100, 100, 400, 300))
    a = det("mug", (380, 280, 440, 340))  # on the laptop's corner and 10 px from b
    b = det("mug", (450, 280, 510, 340))
    rules = [
        rule("object_clearance", value=5, unit="cm", object_label="laptop"),
        rule("mug_spacing", value=3, unit="cm"),
    ]
    res = run([det("table", (0, 0, 800, 600)), laptop, a, b], rules, scale=Scale(mm_per_px=1.0))
    s0, s1 = res.suggestions
    # Mug 0 breaks two rules, so it moves first: 70 px down clears the laptop by 50, and
    # 18.3 px left leaves hypot(28.3, 10) = 30 px to mug 1.
    assert (s0.move.dx_px, s0.move.dy_px) == pytest.approx((-(math.sqrt(800) - 10), 70.0))
    assert s0.feasible and s0.fixes == ["object-clearance", "mug-spacing"]
    assert s1.needed and s1.feasible and s1.move.length_px == 0
    assert s1.fixes == ["mug-spacing"] and "no move once the other mugs" in s1.message


def test_degenerate_scenes_are_handled() -> None:
    from mugpos.detections import Box, Detection
    from mugpos.positioning.frame import SceneError

    # A mug larger than the work area: no position fits, nothing crashes, the answer says so.
    big = det("mug", (0, 0, 300, 300))
    res = run([det("table", (50, 50, 250, 250)), big], [rule("in_zone", zone="top-left")])
    assert res.suggestions[0].feasible is False
    # Non-finite boxes and sizes are typed errors.
    nan = Detection(
        label="mug", raw_label="mug", score=0.9, box=Box(x1=0, y1=0, x2=1, y2=float("nan"))
    )
    with pytest.raises(SceneError) as err:
        run([nan], [])
    assert err.value.code == "invalid_scene"
    with pytest.raises(SceneError):
        run([big], [], size=(0, 100))
