from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mugpos.positioning.geometry import box_gap, overlap_fraction, rect_sd, sd_matrix


def test_rect_signed_distance() -> None:
    r = (0.0, 0.0, 10.0, 20.0)
    assert rect_sd(15, 10, r) == 5.0  # right of it
    assert rect_sd(13, 24, r) == pytest.approx(5.0)  # off a corner: 3-4-5
    assert rect_sd(2, 10, r) == -2.0  # inside, 2 from the left side
    assert rect_sd(10, 10, r) == 0.0  # on the boundary


def test_box_gap_and_overlap() -> None:
    a = (0.0, 0.0, 10.0, 10.0)
    assert box_gap(a, (13.0, 14.0, 20.0, 20.0)) == pytest.approx(5.0)
    assert box_gap(a, (10.0, 0.0, 20.0, 10.0)) == 0.0  # touching is not overlapping
    assert box_gap(a, (8.0, 0.0, 20.0, 10.0)) == pytest.approx(-2.0)
    assert overlap_fraction(a, (5.0, 0.0, 20.0, 10.0)) == pytest.approx(0.5)
    assert overlap_fraction(a, (-5.0, -5.0, 50.0, 50.0)) == 1.0  # fully on it
    assert overlap_fraction(a, (20.0, 20.0, 30.0, 30.0)) == 0.0


coord = st.floats(min_value=-500, max_value=500, allow_nan=False)


@settings(max_examples=60)
@given(
    pts=st.lists(st.tuples(coord, coord), min_size=1, max_size=6),
    rects=st.lists(
        st.tuples(coord, coord, st.floats(0, 300), st.floats(0, 300)), min_size=1, max_size=5
    ),
)
def test_vectorised_matches_scalar(pts: list, rects: list) -> None:
    cores = np.array([(x, y, x + w, y + h) for x, y, w, h in rects])
    got = sd_matrix(np.array(pts, dtype=float), cores)
    want = np.array([[rect_sd(px, py, tuple(c)) for c in cores] for px, py in pts])
    np.testing.assert_allclose(got, want, atol=1e-9)
