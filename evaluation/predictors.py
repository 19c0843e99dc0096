"""What the harness evaluates: a detector variant, or ground truth (the controls).

Every predictor goes through :func:`mugpos.analysis.analyze`, the one inference path the API
uses, so the metrics describe what users get, stage timings included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from evaluation.dataset import EvalDataset, Example
from evaluation.variants import Variant
from mugpos.analysis import AnalysisOptions, AnalysisResult, analyze
from mugpos.detections import Box, Detection
from mugpos.labels import MUG
from mugpos.models.base import Detector
from mugpos.units import Scale


class Predictor(Protocol):
    name: str
    threshold: float

    def __call__(self, example: Example, options: AnalysisOptions) -> AnalysisResult: ...


def options_for(ds: EvalDataset, example: Example, threshold: float) -> AnalysisOptions:
    """The dataset's rules, the example's known scale (the user would give it) and the
    variant's score threshold."""
    scale = Scale(mm_per_px=example.mm_per_px) if example.mm_per_px else None
    return AnalysisOptions(rules=ds.rules, scale=scale, score_threshold=threshold)


@dataclass
class DetectorPredictor:
    """A model variant: a catalog detector at one score threshold, full-image or tiled."""

    detector: Detector
    variant: Variant

    def __post_init__(self) -> None:
        self.detector = self.variant.wrap(self.detector)

    @property
    def name(self) -> str:
        return self.variant.key

    @property
    def threshold(self) -> float:
        return self.variant.threshold

    def __call__(self, example: Example, options: AnalysisOptions) -> AnalysisResult:
        return analyze(example.image, detector=self.detector, options=options)


@dataclass
class OraclePredictor:
    """Ground truth fed back as predictions (score 1.0), every mug box optionally shifted by
    a share of its own width/height: the harness controls. Context objects and the table are
    passed through unshifted, so any change in the metrics comes from the mugs alone."""

    shift: tuple[float, float] = (0.0, 0.0)
    threshold: float = 0.5
    name: str = "ground-truth"

    def __call__(self, example: Example, options: AnalysisOptions) -> AnalysisResult:
        dets = [self._detection(o.label, o.box) for o in example.objects]
        return analyze(detections=dets, image_size=(example.width, example.height), options=options)

    def _detection(self, label: str, box: tuple[float, float, float, float]) -> Detection:
        x1, y1, x2, y2 = box
        if label == MUG:
            dx, dy = self.shift[0] * (x2 - x1), self.shift[1] * (y2 - y1)
            x1, y1, x2, y2 = x1 + dx, y1 + dy, x2 + dx, y2 + dy
        return Detection(
            label=label, raw_label=label, score=1.0, box=Box(x1=x1, y1=y1, x2=x2, y2=y2)
        )
