"""Scores 0..100 per mug and for the scene.

    mug score   = max(0, 100 - sum over the mug's violated rules of P[severity] * (0.5 + 0.5 * v))
    scene score = mean of the mug scores; none (null, "no mug found: not scored") without a mug

with P = {critical: 40, warning: 20, info: 5} and v in 0..1 the rule result's ``violation``
(how far the mug is from satisfying the rule, as a share of 10 % of the work-area diagonal).
A barely-violated critical rule costs 20 points, a badly violated one 40; rules that are
satisfied, not applicable or about an object that was not found cost nothing. Scores are rounded
to 0.1. A scene where no mug was detected is not scored: there is nothing to judge, and a 100
would reward the detector for missing every mug.
"""

from __future__ import annotations

from collections.abc import Sequence

from mugpos.positioning.models import Scores
from mugpos.rules.results import RuleResult

NO_MUG = "no mug found: not scored"
PENALTY: dict[str, float] = {"critical": 40.0, "warning": 20.0, "info": 5.0}


def mug_score(results: Sequence[RuleResult]) -> float:
    lost = sum(
        PENALTY[r.severity] * (0.5 + 0.5 * r.violation) for r in results if r.status == "violated"
    )
    return round(max(0.0, 100.0 - lost), 1)


def score_scene(results: Sequence[RuleResult], n_mugs: int) -> Scores:
    per_mug: list[list[RuleResult]] = [[] for _ in range(n_mugs)]
    for r in results:
        if r.mug is not None and 0 <= r.mug < n_mugs:
            per_mug[r.mug].append(r)
    mugs = [mug_score(rs) for rs in per_mug]
    if not mugs:
        return Scores(mugs=[], scene=None, reason=NO_MUG)
    return Scores(mugs=mugs, scene=round(sum(mugs) / len(mugs), 1))
