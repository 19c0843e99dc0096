"""Describing a scene: positions, zones, clearances, alignment, offsets (hand-computed)."""

from __future__ import annotations

import math

import pytest
from scene_helpers import det

from mugpos.positioning.scene import position_scene
from mugpos.positioning.targets import Target
from mugpos.positioning.zones import Grid, ZoneError
from mugpos.units import ReferenceObject, Scale

LAPTOP = det("laptop", (300, 200, 600, 400))
KEYBOARD = det("keyboard", (300, 420, 600, 500))
MUG_A = det("mug", (100, 100, 160, 180))  # 60 x 80, top-left
MUG_B = det("mug", (580, 380, 640, 440))  # on the laptop's and keyboard's corners


def test_every_mug_is_positioned_in_pixels_normalised_and_zones() -> None:
    layout = position_scene([MUG_B, LAPTOP, MUG_A, KEYBOARD], (1000, 800))
    assert layout.work_area.source == "image"
    assert [m.detection for m in layout.mugs] == [2, 0]  # sorted left to right
    a, b = layout.mugs
    assert (a.center.x, a.center.y) == (130, 140)
    assert (a.center_image.x, a.center_image.y) == pytest.approx((0.13, 0.175))
    assert a.zone == "top-left" and a.zone_cell == (0, 0) and a.in_work_area
    assert b.zone == "center"
    assert a.center_mm is None and a.width_mm is None  # no scale, no mm


def test_clearances_to_edges_objects_and_other_mugs() -> None:
    a, b = position_scene([MUG_A, MUG_B, LAPTOP, KEYBOARD], (1000, 800)).mugs
    assert (a.edges.left.px, a.edges.right.px, a.edges.top.px, a.edges.bottom.px) == (
        100,
        840,
        100,
        620,
    )
    assert a.edges.left.pct == pytest.approx(10.0)  # of the width
    assert a.edges.top.pct == pytest.approx(12.5)  # of the height
    laptop = next(o for o in a.objects if o.label == "laptop")
    assert laptop.distance.px == pytest.approx(math.hypot(140, 20))
    assert not laptop.on and laptop.overlap == 0
    on_laptop = next(o for o in b.objects if o.label == "laptop")
    assert on_laptop.on and on_laptop.distance.px == 0
    assert on_laptop.overlap == pytest.approx(400 / 3600)
    assert a.mugs[0].mug == 1
    assert a.mugs[0].distance.px == pytest.approx(math.hypot(420, 200))


def test_target_offset_and_thirds() -> None:
    a = position_scene([MUG_A], (1000, 800)).mugs[0]
    assert (a.target_offset.dx_px, a.target_offset.dy_px) == (-370, -260)
    assert a.target_offset.dx_pct == pytest.approx(-37.0)
    thirds = position_scene([MUG_A], (900, 600), target=Target(kind="thirds")).mugs[0]
    assert (thirds.target_offset.dx_px, thirds.target_offset.dy_px) == (130 - 300, 140 - 200)
    box = Target(kind="box", box=LAPTOP.box)
    user = position_scene([MUG_A], (1000, 800), target=box).mugs[0]
    assert (user.target_offset.dx_px, user.target_offset.dy_px) == (130 - 450, 140 - 300)


def test_millimetres_from_explicit_and_reference_scale() -> None:
    a = position_scene([MUG_A], (1000, 800), scale=Scale(mm_per_px=0.5)).mugs[0]
    assert (a.center_mm.x, a.center_mm.y) == (65, 70)  # type: ignore[union-attr]
    assert (a.width_mm, a.height_mm) == (30, 40)
    assert a.edges.left.mm == 50
    ref = Scale(reference=ReferenceObject(label="notebook computer", size=30, unit="cm"))
    layout = position_scene([MUG_A, det("laptop", (0, 0, 300, 100))], (1000, 800), scale=ref)
    assert layout.scale is None  # "notebook computer" is not a canonical label of a detection
    ref = Scale(reference=ReferenceObject(label="laptop", size=30, unit="cm"))
    layout = position_scene([MUG_A, det("laptop", (0, 0, 300, 100))], (1000, 800), scale=ref)
    assert layout.scale is not None and layout.scale.mm_per_px == pytest.approx(1.0)
    assert layout.mugs[0].width_mm == pytest.approx(60)


def test_table_is_the_work_area_and_mug_touching_its_border() -> None:
    table = det("table", (100, 100, 900, 700))
    mug = det("mug", (100, 640, 160, 700))  # touches the table's left and bottom edges
    layout = position_scene([table, mug], (1000, 800))
    assert layout.work_area.source == "table"
    m = layout.mugs[0]
    assert m.edges.left.px == 0 and m.edges.bottom.px == 0
    assert m.zone == "bottom-left"
    assert (m.center_work_area.x, m.center_work_area.y) == pytest.approx((30 / 800, 570 / 600))


def test_mug_off_the_table_has_no_zone() -> None:
    table = det("table", (100, 100, 900, 700))
    layout = position_scene([table, det("mug", (0, 0, 50, 50))], (1000, 800))
    m = layout.mugs[0]
    assert m.zone is None and not m.in_work_area
    assert m.edges.left.px == -100  # past the edge


def test_no_mugs_no_work_area() -> None:
    layout = position_scene([LAPTOP], (640, 480))
    assert layout.mugs == [] and layout.groups == []
    assert layout.work_area.box.as_tuple() == (0, 0, 640, 480)


def test_alignment_groups() -> None:
    mugs = [
        det("mug", (100, 100, 160, 160)),
        det("mug", (300, 110, 360, 170)),  # same row (dy 10 <= 5% of 800)
        det("mug", (305, 500, 365, 560)),  # same column as the second (dx 5)
        det("mug", (372, 500, 432, 560)),  # 7 px from the third: a cluster
    ]
    groups = position_scene(mugs, (1000, 800)).groups
    kinds = {(g.kind, tuple(g.mugs)) for g in groups}
    assert ("row", (0, 1)) in kinds
    assert ("column", (1, 2)) in kinds
    assert ("cluster", (2, 3)) in kinds
    row = next(g for g in groups if g.kind == "row" and g.mugs == [0, 1])
    assert row.spread.px == 10


def test_custom_grid_and_zones() -> None:
    grid = Grid(rows=2, cols=4)
    m = position_scene([det("mug", (900, 100, 960, 160))], (1000, 800), grid=grid).mugs[0]
    assert m.zone == "r0c3"
    assert grid.region("center") == ((1 / 3, 1 / 3, 2 / 3, 2 / 3),)
    assert len(grid.region("corner")) == 4
    with pytest.raises(ZoneError) as err:
        grid.region("moon")
    assert err.value.code == "unknown_zone"
    with pytest.raises(ValueError):
        Grid(rows=2, cols=2, names=(("a", "b"), ("c", "a")))
