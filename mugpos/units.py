"""Length units and image scale: the one place that turns rule values into pixels and back.

Rules are written in the units people use (cm, inches, % of the table); geometry runs in pixels.
Physical units need a scale (mm per pixel), either given outright or derived from an object of
known size ("the laptop is 31 cm wide"). Percentages need no scale: they are fractions of the
work area, which is what keeps normalised results invariant when the image is resized.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from mugpos.detections import Detection
from mugpos.errors import MugposError
from mugpos.labels import canonical_label

LengthUnit = Literal["px", "%", "mm", "cm", "m", "in"]
PhysicalUnit = Literal["mm", "cm", "m", "in"]

LENGTH_UNITS: tuple[str, ...] = get_args(LengthUnit)
MM_PER_UNIT: dict[str, float] = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4}


class UnitError(MugposError):
    """A unit is unknown, or a conversion needs a scale or reference length that is missing."""

    code = "invalid_unit"


def is_physical(unit: str) -> bool:
    return unit in MM_PER_UNIT


def to_mm(value: float, unit: str) -> float:
    """A physical length in millimetres."""
    try:
        return value * MM_PER_UNIT[unit]
    except KeyError:
        raise UnitError(
            f"{unit!r} is not a physical unit (expected one of mm, cm, m, in)",
            details={"unit": unit},
        ) from None


def from_mm(mm: float, unit: str) -> float:
    """Millimetres in another physical unit."""
    return mm / to_mm(1.0, unit)


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert between physical units (mm, cm, m, in)."""
    return from_mm(to_mm(value, from_unit), to_unit)


def to_px(
    value: float, unit: str, *, mm_per_px: float | None, percent_base_px: float
) -> float | None:
    """``value`` in pixels; ``None`` when the unit is physical and no scale is known.

    ``percent_base_px`` is what 100 % means for this length (a work-area side).
    """
    if unit == "px":
        return value
    if unit == "%":
        return value / 100.0 * percent_base_px
    mm = to_mm(value, unit)
    return None if mm_per_px is None else mm / mm_per_px


def from_px(
    px: float, unit: str, *, mm_per_px: float | None, percent_base_px: float
) -> float | None:
    """Pixels in ``unit``; ``None`` when the unit is physical and no scale is known."""
    if unit == "px":
        return px
    if unit == "%":
        return px / percent_base_px * 100.0 if percent_base_px > 0 else None
    if mm_per_px is None:
        return None
    return from_mm(px * mm_per_px, unit)


class ReferenceObject(BaseModel):
    """An object of known size in the scene, e.g. "the laptop is 31 cm wide"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(description="Canonical or raw label of the object (laptop, keyboard, ...).")
    size: PositiveFloat
    unit: PhysicalUnit = "cm"
    dimension: Literal["width", "height", "longest"] = "width"

    @property
    def size_mm(self) -> float:
        return to_mm(self.size, self.unit)


class Scale(BaseModel):
    """How pixels map to millimetres: exactly one of an explicit factor or a reference object.

    One factor serves the whole image (no perspective correction): good for top-down photos,
    approximate for oblique ones.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mm_per_px: PositiveFloat | None = None
    reference: ReferenceObject | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Scale:
        if (self.mm_per_px is None) == (self.reference is None):
            raise ValueError("give exactly one of mm_per_px or reference")
        return self

    def resolve(self, detections: Sequence[Detection]) -> ResolvedScale | None:
        """The factor for this scene; ``None`` when the reference object is not detected."""
        if self.mm_per_px is not None:
            return ResolvedScale(mm_per_px=self.mm_per_px, source="explicit")
        ref = self.reference
        assert ref is not None
        label = canonical_label(ref.label)
        found = [d for d in detections if d.label == label]
        if not found:
            return None
        best = max(found, key=lambda d: (d.score, d.box.area))
        w, h = best.box.width, best.box.height
        px = {"width": w, "height": h, "longest": max(w, h)}[ref.dimension]
        if px <= 0:
            return None
        return ResolvedScale(mm_per_px=ref.size_mm / px, source=f"reference:{label}")


class ResolvedScale(BaseModel):
    """The scale in effect for one scene and where it came from."""

    model_config = ConfigDict(frozen=True)

    mm_per_px: PositiveFloat
    source: str = Field(description="'explicit' or 'reference:<label>'.")
