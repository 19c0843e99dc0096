from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from mugpos.detections import Box, Detection
from mugpos.units import (
    ReferenceObject,
    Scale,
    UnitError,
    convert,
    from_mm,
    from_px,
    to_mm,
    to_px,
)

PHYSICAL = ["mm", "cm", "m", "in"]


def test_known_conversions() -> None:
    assert to_mm(6, "in") == pytest.approx(152.4)
    assert to_mm(5, "cm") == 50.0
    assert to_mm(1.5, "m") == 1500.0
    assert from_mm(254.0, "in") == pytest.approx(10.0)
    assert convert(1, "m", "cm") == pytest.approx(100.0)


def test_non_physical_unit_is_a_typed_error() -> None:
    with pytest.raises(UnitError) as err:
        to_mm(3, "%")
    assert err.value.code == "invalid_unit"


@given(
    value=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    a=st.sampled_from(PHYSICAL),
    b=st.sampled_from(PHYSICAL),
)
def test_physical_round_trip(value: float, a: str, b: str) -> None:
    assert convert(convert(value, a, b), b, a) == pytest.approx(value, rel=1e-12, abs=1e-12)


@given(
    value=st.floats(min_value=0, max_value=1e4, allow_nan=False),
    unit=st.sampled_from(["px", "%", *PHYSICAL]),
    mm_per_px=st.floats(min_value=0.01, max_value=10),
    base=st.floats(min_value=10, max_value=5000),
)
def test_pixel_round_trip(value: float, unit: str, mm_per_px: float, base: float) -> None:
    px = to_px(value, unit, mm_per_px=mm_per_px, percent_base_px=base)
    assert px is not None
    back = from_px(px, unit, mm_per_px=mm_per_px, percent_base_px=base)
    assert back == pytest.approx(value, rel=1e-9, abs=1e-9)


def test_physical_without_scale_is_unknown_not_guessed() -> None:
    assert to_px(5, "cm", mm_per_px=None, percent_base_px=100) is None
    assert from_px(5, "cm", mm_per_px=None, percent_base_px=100) is None
    assert to_px(10, "%", mm_per_px=None, percent_base_px=300) == 30.0


def _det(label: str, xyxy: tuple[float, float, float, float], score: float = 0.9) -> Detection:
    return Detection(label=label, raw_label=label, score=score, box=Box.from_xyxy(xyxy))


def test_scale_from_reference_object() -> None:
    dets = [_det("laptop", (100, 100, 420, 300)), _det("laptop", (0, 0, 10, 10), score=0.2)]
    resolved = Scale(reference=ReferenceObject(label="Laptop", size=32, unit="cm")).resolve(dets)
    assert resolved is not None
    assert resolved.mm_per_px == pytest.approx(1.0)  # 320 mm over 320 px, best-scored laptop
    assert resolved.source == "reference:laptop"
    longest = Scale(reference=ReferenceObject(label="laptop", size=32, dimension="height"))
    assert longest.resolve(dets).mm_per_px == pytest.approx(320 / 200)  # type: ignore[union-attr]


def test_scale_reference_missing_resolves_to_none() -> None:
    scale = Scale(reference=ReferenceObject(label="keyboard", size=44))
    assert scale.resolve([_det("laptop", (0, 0, 10, 10))]) is None


def test_scale_needs_exactly_one_source() -> None:
    with pytest.raises(ValidationError):
        Scale()
    with pytest.raises(ValidationError):
        Scale(mm_per_px=1.0, reference=ReferenceObject(label="laptop", size=30))
    with pytest.raises(ValidationError):
        Scale(mm_per_px=-1.0)
    assert math.isclose(Scale(mm_per_px=0.5).resolve([]).mm_per_px, 0.5)  # type: ignore[union-attr]
