"""Scores 0..100 per mug and for the scene.

    mug score   = max(0, 100 - sum over the mug's violated rules of P[severity] * (0.5 + 0.5 * v))
    scene score = mean of the mug scores (100 when there is no mug)

with P = {critical: 40, warning: 20, info: 5} and v in 0..1 the rule result's ``violation``
(how far the mug is from satisfying the rule, as a share of 10 % of the work-area diagonal).
A barely-violated critical rule costs 20 points, a badly violated one 40; rules that are
satisfied or not applicable cost nothing. Scores are rounded to 0.1.
"""

from __future__ import annotations

from collections.abc import Sequence

from mugpos.positioning.models import Scores
from mugpos.rules.results import RuleResult

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
    scene = round(sum(mugs) / len(mugs), 1) if mugs else 100.0
    return Scores(mugs=mugs, scene=scene)
