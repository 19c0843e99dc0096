"""The move search against hand-computed answers and against brute force on a fine grid."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mugpos.positioning.cset import HARD_WEIGHT, ConstraintBuilder, costs
from mugpos.positioning.search import best_position

WORK = (0.0, 0.0, 200.0, 150.0)  # the hard rectangle for the mug's center


def builder() -> ConstraintBuilder:
    b = ConstraintBuilder(unit_len=math.hypot(200, 150))
    b.group([(WORK, 0.0)], inside=True, any_of=False, weight=HARD_WEIGHT)
    return b


def test_already_feasible_does_not_move() -> None:
    b = builder()
    b.group([((50, 50, 50, 50), 20.0)], inside=False, any_of=False, weight=100)
    res = best_position((100.0, 100.0), b.build())
    assert res.point == (100.0, 100.0) and res.cost == 0.0


def test_out_of_a_disk_along_the_radius() -> None:
    b = builder()
    b.group([((50, 50, 50, 50), 20.0)], inside=False, any_of=False, weight=100)
    res = best_position((55.0, 50.0), b.build())
    assert res.point == pytest.approx((70.0, 50.0))
    assert res.cost == 0.0


def test_off_a_rectangle_through_the_nearest_side() -> None:
    b = builder()
    b.group([((40, 40, 60, 60), 0.0)], inside=False, any_of=False, weight=100)
    assert best_position((45.0, 52.0), b.build()).point == pytest.approx((40.0, 52.0))


def test_corner_between_two_obstacles() -> None:
    # Touching is allowed: on the shared side of two obstacles is free.
    b = builder()
    b.group([((0, 0, 60, 100), 0.0)], inside=False, any_of=False, weight=100)
    b.group([((60, 0, 200, 90), 0.0)], inside=False, any_of=False, weight=100)
    assert best_position((58.0, 80.0), b.build()).point == pytest.approx((60.0, 80.0))
    # Overlapping obstacles: out where the right side of one meets the bottom of the other.
    b = builder()
    b.group([((0, 0, 60, 100), 0.0)], inside=False, any_of=False, weight=100)
    b.group([((55, 0, 200, 90), 0.0)], inside=False, any_of=False, weight=100)
    assert best_position((58.0, 80.0), b.build()).point == pytest.approx((60.0, 90.0))


def test_rounded_corner_is_an_arc() -> None:
    # Clearance 10 around a box: from just inside its corner region the exit is diagonal.
    b = builder()
    b.group([((50, 50, 100, 100), 10.0)], inside=False, any_of=False, weight=100)
    res = best_position((102.0, 102.0), b.build())
    d = 10 / math.sqrt(2)
    assert res.point == pytest.approx((100 + d, 100 + d))


def test_inside_a_target_disk() -> None:
    b = builder()
    b.group([((150, 100, 150, 100), 5.0)], inside=True, any_of=False, weight=100)
    res = best_position((150.0, 50.0), b.build())
    assert res.point == pytest.approx((150.0, 95.0))


def test_any_of_picks_the_nearer_option() -> None:
    b = builder()
    b.group(
        [((20, 20, 20, 20), 5.0), ((180, 130, 180, 130), 5.0)],
        inside=True,
        any_of=True,
        weight=100,
    )
    assert best_position((150.0, 120.0), b.build()).point == pytest.approx(
        (180 - 30 * 5 / math.hypot(30, 10), 130 - 10 * 5 / math.hypot(30, 10))
    )


def test_infeasible_returns_the_least_severe_violation() -> None:
    # Critical: stay 20 away from (100, 75). Warning: stay within 5 of it. Both cannot hold.
    b = builder()
    b.group([((100, 75, 100, 75), 20.0)], inside=False, any_of=False, weight=10_000)
    b.group([((100, 75, 100, 75), 5.0)], inside=True, any_of=False, weight=100)
    res = best_position((100.0, 78.0), b.build())
    assert res.cost == 100.0  # only the warning is violated
    assert res.point == pytest.approx((100.0, 95.0))
    assert list(res.ok) == [True, True, False]


def test_stays_inside_the_work_area() -> None:
    b = builder()
    # A forbidden block over the top-left corner: leaving the work area is not an option.
    b.group([((-10, -10, 30, 30), 0.0)], inside=False, any_of=False, weight=100)
    res = best_position((1.0, 2.0), b.build())
    assert res.cost == 0.0
    assert res.point == pytest.approx((1.0, 30.0))


@st.composite
def constraint_sets(draw):  # type: ignore[no-untyped-def]
    """Random groups of 1-3 rounded rectangles, inside or outside, all-of or any-of."""
    b = builder()
    for _ in range(draw(st.integers(1, 5))):
        prims = []
        inside = draw(st.booleans())
        for _ in range(draw(st.integers(1, 3))):
            x = draw(st.floats(0, 200))
            y = draw(st.floats(0, 150))
            w = draw(st.floats(0, 20 if inside else 60))
            h = draw(st.floats(0, 20 if inside else 60))
            r = draw(st.sampled_from([0.0, draw(st.floats(1, 30))]))
            prims.append(((x, y, x + w, y + h), r))
        b.group(
            prims,
            inside=inside,
            any_of=draw(st.booleans()),
            weight=draw(st.sampled_from([1.0, 100.0, 10_000.0])),
        )
    start = (draw(st.floats(0, 200)), draw(st.floats(0, 150)))
    return b.build(), start


GRID = np.stack(np.meshgrid(np.arange(0, 200.5, 1.0), np.arange(0, 150.5, 1.0)), -1).reshape(-1, 2)


@settings(max_examples=60, deadline=None)
@given(case=constraint_sets())
def test_search_is_exact_against_brute_force(case) -> None:  # type: ignore[no-untyped-def]
    cs, start = case
    res = best_position(start, cs)
    # The reported cost is the true cost at the reported point.
    assert costs(np.array([res.point]), cs)[0] == res.cost
    grid_cost = costs(GRID, cs)
    dist = np.hypot(GRID[:, 0] - start[0], GRID[:, 1] - start[1])
    best_grid = grid_cost.min()
    moved = math.dist(res.point, start)
    # Never worse than any grid point; feasible whenever a grid point is.
    assert res.cost <= best_grid
    if res.cost == best_grid:
        # No grid point of the same cost is nearer than the answer (it is the optimum).
        assert moved <= dist[grid_cost == best_grid].min() + 1e-6


@settings(max_examples=60, deadline=None)
@given(case=constraint_sets())
def test_the_compiled_search_matches_the_numpy_path(case) -> None:  # type: ignore[no-untyped-def]
    """The numba kernel (the default) and the numpy reference give the same point and cost,
    candidate order and tie-breaks included, so results do not depend on which one ran."""
    from mugpos.positioning import search

    cs, start = case
    fast = best_position(start, cs)
    search.NUMPY_ONLY = True
    try:
        again = type(cs).__new__(type(cs))  # the pieces are cached per set: build them anew
        for name in type(cs).__slots__:
            setattr(again, name, getattr(cs, name))
        again._pieces = None
        ref = best_position(start, again)
    finally:
        search.NUMPY_ONLY = False
    assert fast is not None and ref is not None
    assert fast.point == ref.point and fast.cost == ref.cost


def test_compiled_pieces_match_the_numpy_pieces() -> None:
    from mugpos.positioning.boundary import _LIM, pieces_of
    from mugpos.positioning.kernel import pieces

    rng = np.random.default_rng(7)
    for _ in range(200):
        k = int(rng.integers(1, 30))
        cores = rng.uniform(-50, 50, (k, 4))
        cores[:, 2:] = cores[:, :2] + rng.uniform(0, 30, (k, 2))
        cores[rng.random(k) < 0.2, 0] = -1e9  # an unbounded side
        cores[int(rng.integers(0, k))] = cores[0]  # a duplicate
        radius = rng.choice([0.0, 5.0, -3.0, 2.5], k)
        ref = pieces_of(cores, radius)
        got = pieces(cores, radius, _LIM)
        for a, b in zip((ref.v, ref.h, ref.a), got, strict=True):
            assert np.array_equal(a, b)
