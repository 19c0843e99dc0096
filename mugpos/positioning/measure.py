"""Pixels → the three-unit lengths and vectors of the result models."""

from __future__ import annotations

import math

from mugpos.positioning.frame import SceneFrame
from mugpos.positioning.models import Distance, Vector


def distance(frame: SceneFrame, px: float, base: float | None = None) -> Distance:
    """A length in px, % of ``base`` (default: the work area's short side) and mm."""
    base = base or frame.short_side
    mm = frame.mm_per_px
    return Distance(px=px, pct=px / base * 100.0, mm=None if mm is None else px * mm)


def vector(frame: SceneFrame, dx: float, dy: float) -> Vector:
    mm = frame.mm_per_px
    length = math.hypot(dx, dy)
    return Vector(
        dx_px=dx,
        dy_px=dy,
        dx_pct=dx / frame.wa_width * 100.0,
        dy_pct=dy / frame.wa_height * 100.0,
        dx_mm=None if mm is None else dx * mm,
        dy_mm=None if mm is None else dy * mm,
        length_px=length,
        length_mm=None if mm is None else length * mm,
    )
