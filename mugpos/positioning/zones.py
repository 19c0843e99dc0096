"""Zones: a named grid over the work area, plus the regions people name in rules.

Zones live in work-area-normalised coordinates (0..1, origin top-left), so the same rule means
the same place whatever the photo's size. A grid cell name always wins over a region name, so a
custom grid can redefine "center".
"""

from __future__ import annotations

from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mugpos.errors import MugposError
from mugpos.positioning.geometry import Rect

DEFAULT_NAMES: tuple[tuple[str, ...], ...] = (
    ("top-left", "top-center", "top-right"),
    ("middle-left", "center", "middle-right"),
    ("bottom-left", "bottom-center", "bottom-right"),
)
_T = 1.0 / 3.0
# Regions by name, in work-area-normalised coordinates; "corner" and "center" depend on the grid.
REGIONS: dict[str, tuple[Rect, ...]] = {
    "left-third": ((0.0, 0.0, _T, 1.0),),
    "middle-third": ((_T, 0.0, 2 * _T, 1.0),),
    "right-third": ((2 * _T, 0.0, 1.0, 1.0),),
    "top-third": ((0.0, 0.0, 1.0, _T),),
    "bottom-third": ((0.0, 2 * _T, 1.0, 1.0),),
    "left-half": ((0.0, 0.0, 0.5, 1.0),),
    "right-half": ((0.5, 0.0, 1.0, 1.0),),
    "top-half": ((0.0, 0.0, 1.0, 0.5),),
    "bottom-half": ((0.0, 0.5, 1.0, 1.0),),
}
ZONE_NAMES = frozenset({n for row in DEFAULT_NAMES for n in row} | set(REGIONS) | {"corner"})


class ZoneError(MugposError):
    """A zone name that neither the grid nor the named regions know."""

    code = "unknown_zone"


class Grid(BaseModel):
    """A ``rows x cols`` grid over the work area; cells are named row by row."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rows: int = Field(default=3, ge=1, le=12)
    cols: int = Field(default=3, ge=1, le=12)
    names: tuple[tuple[str, ...], ...] | None = Field(
        default=None, description="Cell names, row by row; default 3x3 names or r<row>c<col>."
    )

    @model_validator(mode="after")
    def _check_names(self) -> Grid:
        if self.names is not None:
            if len(self.names) != self.rows or any(len(r) != self.cols for r in self.names):
                raise ValueError(f"names must be {self.rows} rows of {self.cols} names")
            flat = [n for r in self.names for n in r]
            if len(set(flat)) != len(flat):
                raise ValueError("cell names must be unique")
        return self

    @cached_property
    def cell_names(self) -> tuple[tuple[str, ...], ...]:
        if self.names is not None:
            return self.names
        if (self.rows, self.cols) == (3, 3):
            return DEFAULT_NAMES
        return tuple(tuple(f"r{r}c{c}" for c in range(self.cols)) for r in range(self.rows))

    def cell_of(self, u: float, v: float) -> tuple[str, int, int] | None:
        """The cell holding a work-area-normalised point, or ``None`` outside the work area."""
        if not (0.0 <= u <= 1.0 and 0.0 <= v <= 1.0):
            return None
        col = min(int(u * self.cols), self.cols - 1)
        row = min(int(v * self.rows), self.rows - 1)
        return self.cell_names[row][col], row, col

    def cell_rect(self, row: int, col: int) -> Rect:
        return (col / self.cols, row / self.rows, (col + 1) / self.cols, (row + 1) / self.rows)

    def region(self, name: str) -> tuple[Rect, ...]:
        """Normalised rectangles of a zone (several for "corner"); raises :class:`ZoneError`."""
        for r, row in enumerate(self.cell_names):
            for c, cell in enumerate(row):
                if cell == name:
                    return (self.cell_rect(r, c),)
        if name == "corner":
            corners = {
                (0, 0),
                (0, self.cols - 1),
                (self.rows - 1, 0),
                (self.rows - 1, self.cols - 1),
            }
            return tuple(self.cell_rect(r, c) for r, c in sorted(corners))
        if name == "center":
            if self.rows % 2 and self.cols % 2:
                return (self.cell_rect(self.rows // 2, self.cols // 2),)
            return ((_T, _T, 2 * _T, 2 * _T),)
        if name in REGIONS:
            return REGIONS[name]
        known = sorted({n for row in self.cell_names for n in row} | set(REGIONS) | {"corner"})
        raise ZoneError(f"unknown zone {name!r}", details={"zone": name, "known": known})


def to_pixels(norm: Rect, work_area: Rect) -> Rect:
    """A work-area-normalised rectangle in image pixels."""
    x1, y1, x2, y2 = work_area
    w, h = x2 - x1, y2 - y1
    return (x1 + norm[0] * w, y1 + norm[1] * h, x1 + norm[2] * w, y1 + norm[3] * h)
