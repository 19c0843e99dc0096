"""A report card: one analysis summarised for people (score, verdict, violations, moves) with
its annotated photo. Renderers turn it into a picture; this module decides what it says.

The words come from the analysis itself (rule messages, suggestion messages), so a card never
says more than the analysis found: a scene without a mug says "no mug found: not scored" and
shows no score, and rules about an object that was not found are listed as not checked.
"""

from __future__ import annotations

import io
from typing import Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from mugpos.analysis import AnalysisResult
from mugpos.positioning.score import NO_MUG

MAX_VIOLATIONS = 6
MAX_MOVES = 4
PHOTO_MAX_SIDE = 1200
Band = Literal["good", "fair", "poor", "none"]


class CardLine(BaseModel):
    model_config = ConfigDict(frozen=True)
    mug: int | None
    text: str
    severity: str | None = None


class ReportCard(BaseModel):
    """What a card shows; ``photo_png`` is the analysis drawn on the photo."""

    model_config = ConfigDict(frozen=True)

    title: str
    score: float | None = Field(description="0..100; None when no mug was found.")
    band: Band
    verdict: str
    mugs: int
    violations: list[CardLine]
    more_violations: int = 0
    moves: list[CardLine]
    notes: list[str]
    footer: str
    photo_png: bytes = Field(repr=False, exclude=True)

    def violations_text(self) -> str:
        lines = [f"• {line.text}" for line in self.violations]
        if self.more_violations:
            lines.append(f"… and {self.more_violations} more")
        return "\n".join(lines) or "none"

    def moves_text(self) -> str:
        return "\n".join(f"→ {line.text}" for line in self.moves) or "no move needed"

    @property
    def score_text(self) -> str:
        return "—" if self.score is None else f"{self.score:.0f}"


def band(score: float | None) -> Band:
    if score is None:
        return "none"
    return "good" if score >= 80 else ("fair" if score >= 50 else "poor")


def build_card(
    pixels: np.ndarray,
    result: AnalysisResult,
    *,
    title: str,
    footer: str,
    draw: bool = True,
) -> ReportCard:
    """The card of one analysis of ``pixels`` (``draw=False`` uses the photo as it is)."""
    from mugpos.render_analysis import draw_analysis

    picture = draw_analysis(pixels, result) if draw else Image.fromarray(pixels)
    picture.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    picture.convert("RGB").save(buf, format="PNG", compress_level=3)  # an intermediate

    violated = [r for r in result.rule_results if r.status == "violated"]
    order = {"critical": 0, "warning": 1, "info": 2}
    violated.sort(key=lambda r: (order.get(r.severity, 3), -r.violation))
    moves = [s for s in result.suggestions if s.needed]
    n_mugs = len(result.layout.mugs)
    score = result.scores.scene
    if score is None:
        verdict = result.scores.reason or NO_MUG
    elif violated:
        on = len({r.mug for r in violated if r.mug is not None})
        verdict = f"{len(violated)} rule violation{'s' * (len(violated) != 1)}" + (
            f" on {on} of {n_mugs} mug{'s' * (n_mugs != 1)}" if on else ""
        )
    else:
        # The implicit work-area check is not a rule the user gave: alone, it checks nothing.
        given = [r for r in result.rule_results if r.kind != "in_work_area"]
        met = sum(r.status == "satisfied" for r in given)
        unchecked = len(given) - met  # not applicable here, or about an object not found
        if met and not unchecked:
            verdict = "every rule met"
        elif met:
            verdict = f"{met} rule check{'s' * (met != 1)} met, {unchecked} not checked"
        else:
            verdict = "no rule could be checked" if given else "no rules to check"
    return ReportCard(
        title=title,
        score=score,
        band=band(score),
        verdict=verdict,
        mugs=n_mugs,
        violations=[
            CardLine(mug=r.mug, text=r.message, severity=r.severity)
            for r in violated[:MAX_VIOLATIONS]
        ],
        more_violations=max(0, len(violated) - MAX_VIOLATIONS),
        moves=[CardLine(mug=s.mug, text=s.message) for s in moves[:MAX_MOVES]],
        notes=[n for n in result.notes if n != NO_MUG][:4],
        footer=footer,
        photo_png=buf.getvalue(),
    )
