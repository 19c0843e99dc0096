"""The champion gate: does a candidate beat or match the champion on every key metric?

Pure data in, findings out, so the Dagster check, the CLI and the tests share one rule:
for each dataset both were evaluated on and each key metric the champion has a value for, the
candidate passes when ``candidate >= champion - tolerance``. A candidate with no value where the
champion has one (e.g. it predicted nothing, so a metric is undefined) fails: it cannot show
that it is not worse.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evaluation.harness import KEY_METRICS

DEFAULT_TOLERANCE = 0.02


@dataclass(frozen=True)
class Finding:
    dataset: str
    metric: str
    candidate: float
    champion: float
    tolerance: float

    @property
    def delta(self) -> float:
        return self.candidate - self.champion

    @property
    def ok(self) -> bool:
        if math.isnan(self.candidate):
            return False
        return self.candidate >= self.champion - self.tolerance

    def line(self) -> str:
        mark = "ok" if self.ok else "REGRESSION"
        return (
            f"{self.dataset}/{self.metric}: {self.candidate:.4f} vs champion "
            f"{self.champion:.4f} ({self.delta:+.4f}, tolerance {self.tolerance}) {mark}"
        )


def compare(
    candidate: Mapping[str, Mapping[str, float]],
    champion: Mapping[str, Mapping[str, float]],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    metrics: Sequence[str] = KEY_METRICS,
) -> list[Finding]:
    """Findings per (dataset, metric); datasets keyed by name, metrics by name."""
    out = []
    for ds in sorted(set(candidate) & set(champion)):
        for m in metrics:
            champ = float(champion[ds].get(m, math.nan))
            if math.isnan(champ):
                continue
            out.append(Finding(ds, m, float(candidate[ds].get(m, math.nan)), champ, tolerance))
    return out


def passed(findings: Sequence[Finding]) -> bool:
    return all(f.ok for f in findings)
