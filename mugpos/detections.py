"""Detections: the one shape every detector returns and every later stage consumes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Box(BaseModel):
    """Axis-aligned box in source-image pixels, ``x1 <= x2`` and ``y1 <= y2`` (origin top-left)."""

    model_config = ConfigDict(frozen=True)

    x1: float
    y1: float
    x2: float
    y2: float

    @model_validator(mode="after")
    def _ordered(self) -> Box:
        if self.x2 < self.x1 or self.y2 < self.y1:
            raise ValueError(f"box corners out of order: {self.as_tuple()}")
        return self

    @classmethod
    def from_xyxy(cls, xyxy: tuple[float, float, float, float] | list[float]) -> Box:
        x1, y1, x2, y2 = (float(v) for v in xyxy)
        return cls(x1=x1, y1=y1, x2=x2, y2=y2)

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)

    def iou(self, other: Box) -> float:
        ix = max(0.0, min(self.x2, other.x2) - max(self.x1, other.x1))
        iy = max(0.0, min(self.y2, other.y2) - max(self.y1, other.y1))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


class Detection(BaseModel):
    """One detected object: canonical label, the model's own label, score and box."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(description="Canonical label (mug, laptop, keyboard, ...).")
    raw_label: str = Field(description="The label in the model's own vocabulary.")
    score: float = Field(ge=0.0, le=1.0)
    box: Box
    model_id: str | None = None
