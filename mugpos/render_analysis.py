"""One analysis as a picture: work area, zones, clearances, violations and suggested moves.

A table of numbers tells an engineer what the engine decided; a person deciding where to put a
mug wants to *see* it. :func:`draw_analysis` draws an :class:`AnalysisResult` on its photo:

- the work area (outside dimmed) and the zone grid with its names, light and translucent;
- every detection; mugs coloured by status (green: every rule met, red: a rule violated,
  blue: no rules to check) with a tag ``mug 0 · center · 88`` (index, zone, score);
- the nearest clearances of each mug (work-area edge, context object, other mug) as measured
  dimension lines, labelled in px and, with a scale, cm; red when a rule says it is too short;
- per violating mug, a short legend of what is wrong (the rule's own message);
- the suggested move as an arrow from the current centre to the suggested one with a dashed
  ghost of the moved box: green when the move satisfies every rule, orange for a compromise;
- the scene score, scale and notes in a corner, and a colour key.

Sizes (lines, fonts, margins) scale with the image so it reads the same at 300 and 4000 px.
The pixels may be a resized copy of the analysed image (a thumbnail): coordinates are scaled.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mugpos.analysis import AnalysisResult
from mugpos.detections import Box
from mugpos.labels import MUG, WORK_AREA_LABELS
from mugpos.positioning.models import MugPosition
from mugpos.positioning.zones import to_pixels
from mugpos.render import colour_for, font, legible
from mugpos.rules.results import RuleResult

RGB = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Rect = tuple[float, float, float, float]

# Status colours: chosen to stay apart from each other and from the label palette's blues.
OK_GREEN: RGB = (46, 204, 113)
VIOLATION_RED: RGB = (235, 45, 45)
UNCHECKED_BLUE: RGB = (66, 165, 245)
NOT_FOUND_AMBER: RGB = (250, 210, 90)  # "no laptop found", "not scored"
ARROW_FEASIBLE: RGB = (0, 230, 118)
ARROW_COMPROMISE: RGB = (255, 145, 0)
CLEARANCE: RGB = (255, 214, 64)
_HALO: RGB = (20, 20, 20)
_DARK_TEXT: RGB = (18, 18, 18)
_LIGHT_TEXT: RGB = (245, 245, 245)
_PANEL_BG = (16, 18, 22, 200)
COMPACT_BELOW_PX = 560

_EDGE_RE = re.compile(r"the (left|right|top|bottom) edge")
_MUG_RE = re.compile(r"(?:from|overlaps) mug (\d+)")
_PREFIX_RE = re.compile(r"^mug \d+:? ")


@dataclass(frozen=True)
class _Style:
    """Every size in the picture, derived from the image's long side (800 px = 1.0)."""

    s: float
    line: int
    thick: int
    halo: int
    pad: int
    margin: int
    text: int
    small: int

    @classmethod
    def for_size(cls, width: int, height: int) -> _Style:
        s = max(width, height) / 800.0
        line = max(1, round(2 * s))
        text = max(11, round(13 * s))
        return cls(
            s=s,
            line=line,
            thick=max(2, round(3 * s)),
            halo=max(1, round(1.2 * s)),
            pad=max(3, round(5 * s)),
            margin=max(4, round(8 * s)),
            text=text,
            small=max(10, round(text * 0.85)),
        )


Span = tuple[str, RGB]  # a run of text in one colour; "■" is drawn as a colour swatch
Line = list[Span]


@dataclass
class _Labels:
    """Text panels on a translucent layer, placed to avoid each other and what they annotate."""

    size: tuple[int, int]
    style: _Style
    layer: Image.Image = field(init=False)
    draw: ImageDraw.ImageDraw = field(init=False)
    placed: list[Rect] = field(default_factory=list)
    obstacles: list[tuple[Rect, float]] = field(default_factory=list)  # (rect, cost weight)

    def __post_init__(self) -> None:
        self.layer = Image.new("RGBA", self.size, (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.layer)

    def measure(self, lines: Sequence[Line], size: int, bold_first: bool) -> tuple[float, float]:
        w = h = 0.0
        for n, line in enumerate(lines):
            f = font(size, bold=bold_first and n == 0)
            w = max(w, sum(self._span_width(t, f) for t, _ in line))
            h += self._line_height(f)
        return w + 2 * self.style.pad, h + 2 * self.style.pad - self.style.pad * 0.4

    def _span_width(self, text: str, f: Font) -> float:
        if text == "■":
            return self._line_height(f) * 0.9
        return float(self.draw.textlength(legible(text), font=f))

    @staticmethod
    def _line_height(f: Font) -> float:
        return float(getattr(f, "size", 11)) * 1.25

    def place(
        self,
        lines: Sequence[Line],
        candidates: Sequence[tuple[float, float]],
        *,
        size: int | None = None,
        bg: tuple[int, int, int, int] = _PANEL_BG,
        border: RGB | None = None,
        bold_first: bool = False,
    ) -> Rect:
        """Draw a panel at the first candidate top-left corner that covers nothing important."""
        size = size or self.style.text
        w, h = self.measure(lines, size, bold_first)
        W, H = self.size
        best: tuple[float, Rect] | None = None
        for x, y in candidates:
            x = min(max(0.0, x), max(0.0, W - w))  # clamp into the image
            y = min(max(0.0, y), max(0.0, H - h))
            rect = (x, y, x + w, y + h)
            cost = 10 * sum(_overlap(rect, r) for r in self.placed)
            cost += sum(wt * _overlap(rect, r) for r, wt in self.obstacles)
            if best is None or cost < best[0]:
                best = (cost, rect)
            if cost == 0:
                break
        assert best is not None
        rect = best[1]
        radius = max(2, round(self.style.pad * 0.8))
        outline = None if border is None else (*border, 255)
        width = max(1, self.style.line // 2 + 1) if border else 0
        self.draw.rounded_rectangle(rect, radius=radius, fill=bg, outline=outline, width=width)
        y = rect[1] + self.style.pad
        for n, line in enumerate(lines):
            f = font(size, bold=bold_first and n == 0)
            x = rect[0] + self.style.pad
            lh = self._line_height(f)
            for text, colour in line:
                if text == "■":
                    sw = lh * 0.9
                    self.draw.rectangle(
                        (x + sw * 0.1, y + lh * 0.15, x + sw * 0.8, y + lh * 0.8),
                        fill=(*colour, 255),
                    )
                    x += sw
                    continue
                self.draw.text((x, y), legible(text), font=f, fill=(*colour, 255))
                x += self._span_width(text, f)
            y += lh
        self.placed.append(rect)
        return rect


def _overlap(a: Rect, b: Rect) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy


def fmt_length(px: float, mm: float | None) -> str:
    """``38 px · 6.1 cm``: pixels always, a physical length when the scene has a scale."""
    text = f"{px:.0f} px"
    if mm is not None:
        text += f" · {mm / 10:.1f} cm" if abs(mm) >= 9.5 else f" · {mm:.0f} mm"
    return text


def _gap_segment(a: Rect, b: Rect) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The shortest segment between two boxes (``None`` when they touch or overlap)."""

    def axis(a1: float, a2: float, b1: float, b2: float) -> tuple[float, float]:
        if a2 < b1:
            return a2, b1
        if b2 < a1:
            return a1, b2
        mid = (max(a1, b1) + min(a2, b2)) / 2.0  # overlapping on this axis: measure mid-way
        return mid, mid

    px, qx = axis(a[0], a[2], b[0], b[2])
    py, qy = axis(a[1], a[3], b[1], b[3])
    if (px, py) == (qx, qy):
        return None
    return (px, py), (qx, qy)


@dataclass(frozen=True)
class _Clearance:
    p: tuple[float, float]
    q: tuple[float, float]
    text: str
    violated: bool


class _Painter:
    """Draws one analysis; every coordinate goes through :meth:`pt` (analysis px → picture)."""

    def __init__(
        self, pixels: np.ndarray, result: AnalysisResult, show_zones: bool, compact: bool | None
    ) -> None:
        base = Image.fromarray(np.ascontiguousarray(pixels)).convert("RGB")
        self.size = base.size
        self.sx = base.width / max(result.image.width, 1e-9)
        self.sy = base.height / max(result.image.height, 1e-9)
        self.r = result
        self.show_zones = show_zones
        self.st = _Style.for_size(*base.size)
        # Below ~560 px there is no room for every number: keep lines, drop their labels.
        self.compact = max(base.size) < COMPACT_BELOW_PX if compact is None else compact
        # A slightly dimmed photo lets thin coloured lines and small text stand out.
        self.img = Image.blend(base, Image.new("RGB", base.size, (0, 0, 0)), 0.12).convert("RGBA")
        self.labels = _Labels(base.size, self.st)
        self.violations: dict[int, list[RuleResult]] = {}
        for rr in result.rule_results:
            if rr.status == "violated" and rr.mug is not None:
                self.violations.setdefault(rr.mug, []).append(rr)
        self.has_clearance = False
        # The implicit work-area check alone does not make a mug "checked" (blue: no rule of
        # the user's); when it fails, the mug is red like any violation.
        self.checked = {
            rr.mug
            for rr in result.rule_results
            if rr.status in ("satisfied", "violated") and rr.kind != "in_work_area"
        }

    # -- coordinates -----------------------------------------------------------------------

    def pt(self, x: float, y: float) -> tuple[float, float]:
        return x * self.sx, y * self.sy

    def rect(self, r: Rect | Box) -> Rect:
        x1, y1, x2, y2 = r.as_tuple() if isinstance(r, Box) else r
        return (*self.pt(x1, y1), *self.pt(x2, y2))

    # -- layers ----------------------------------------------------------------------------

    def render(self) -> Image.Image:
        self._translucent()
        draw = ImageDraw.Draw(self.img)
        self._work_area(draw)
        self._context(draw)
        clearances = [c for mp in self.r.layout.mugs for c in self._clearances(mp)]
        clearances += self._mug_pairs()
        self.has_clearance = bool(clearances)
        for c in clearances:
            self._dimension_line(draw, c)
        for mp in self.r.layout.mugs:
            self._mug_box(draw, mp)
        for mp in self.r.layout.mugs:
            self._suggestion(draw, mp)
        self._score_panel()
        self._legend()
        for mp in self.r.layout.mugs:
            self._mug_tag(mp)
            self._violation_panel(mp)
        self._suggestion_labels()
        if not self.compact:
            for c in clearances:
                self._clearance_label(c)
        self.img.alpha_composite(self.labels.layer)
        return self.img.convert("RGB")

    def _translucent(self) -> None:
        """Dim outside the work area; draw the zone grid and names, lightly."""
        layer = Image.new("RGBA", self.size, (0, 0, 0, 0))
        d = ImageDraw.Draw(layer)
        wa = self.r.layout.work_area
        x1, y1, x2, y2 = self.rect(wa.box)
        W, H = self.size
        if wa.source != "image":
            shade = (0, 0, 0, 95)
            for r in ((0, 0, W, y1), (0, y2, W, H), (0, y1, x1, y2), (x2, y1, W, y2)):
                if r[2] > r[0] and r[3] > r[1]:
                    d.rectangle(r, fill=shade)
        if self.show_zones:
            grid = self.r.layout.grid
            occupied = {tuple(mp.zone_cell) for mp in self.r.layout.mugs if mp.zone_cell}
            f = font(self.st.small)
            wa_rect = wa.box.as_tuple()
            for row, names in enumerate(grid.cell_names):
                for col, name in enumerate(names):
                    cell = self.rect(to_pixels(grid.cell_rect(row, col), wa_rect))
                    if (row, col) in occupied:
                        d.rectangle(cell, fill=(255, 255, 255, 30))
                    alpha = 190 if (row, col) in occupied else 120
                    d.text(
                        (cell[0] + self.st.pad, cell[1] + self.st.pad),
                        name,
                        font=f,
                        fill=(255, 255, 255, alpha),
                        stroke_width=max(1, self.st.halo),
                        stroke_fill=(0, 0, 0, alpha // 2),
                    )
            for c in range(1, grid.cols):
                x = x1 + (x2 - x1) * c / grid.cols
                d.line((x, y1, x, y2), fill=(255, 255, 255, 90), width=max(1, self.st.line // 2))
            for r in range(1, grid.rows):
                y = y1 + (y2 - y1) * r / grid.rows
                d.line((x1, y, x2, y), fill=(255, 255, 255, 90), width=max(1, self.st.line // 2))
        self.img.alpha_composite(layer)

    def _work_area(self, draw: ImageDraw.ImageDraw) -> None:
        wa = self.r.layout.work_area
        if wa.source == "image":
            return  # the photo's own border is the work area: nothing to outline
        r = self.rect(wa.box)
        _dashed_rect(draw, r, (255, 255, 255), self.st.line, dash=6 * self.st.line)

    def _context(self, draw: ImageDraw.ImageDraw) -> None:
        """Context objects: thin boxes in their palette colour with a small name tag."""
        f = self.st.small
        for det in self.r.detections:
            if det.label == MUG or det.label in WORK_AREA_LABELS:
                continue
            r = self.rect(det.box)
            colour = colour_for(det.label)
            _box(draw, r, colour, max(1, self.st.line - 1), 1)
            self.labels.place(
                [[(det.label, _DARK_TEXT)]],
                [(r[0], r[1]), (r[0], r[1] - f * 1.6), (r[0], r[3])],
                size=f,
                bg=(*colour, 215),
            )

    # -- clearances ------------------------------------------------------------------------

    def _clearances(self, mp: MugPosition) -> list[_Clearance]:
        """The nearest edge and object, plus any a violated rule names (drawn red)."""
        bad = self.violations.get(mp.index, [])
        bad_edges = {m.group(1) for rr in bad if (m := _EDGE_RE.search(rr.message))}
        bad_labels = {
            rel.label
            for rr in bad
            if rr.kind == "object_clearance"
            for rel in mp.objects
            if f"the {rel.label}" in rr.message
        }
        out: list[_Clearance] = []
        # A far-away neighbour explains nothing and crosses the picture: only short or
        # rule-relevant clearances are drawn.
        near_pct = 25.0
        b = mp.box.as_tuple()
        cx, cy = mp.center.x, mp.center.y
        wx1, wy1, wx2, wy2 = self.r.layout.work_area.box.as_tuple()
        ends = {
            "left": ((wx1, cy), (b[0], cy)),
            "right": ((b[2], cy), (wx2, cy)),
            "top": ((cx, wy1), (cx, b[1])),
            "bottom": ((cx, b[3]), (cx, wy2)),
        }
        for edge in {mp.edges.nearest} | bad_edges:
            dist = getattr(mp.edges, edge)
            if dist.px > 0.5:
                p, q = ends[edge]
                out.append(_Clearance(p, q, fmt_length(dist.px, dist.mm), edge in bad_edges))
        free = [rel for rel in mp.objects if not rel.on]
        closest = min(free, key=lambda r: r.distance.px) if free else None
        wanted = {closest.label} if closest and closest.distance.pct <= near_pct else set()
        for label in wanted | bad_labels:
            rels = [r for r in free if r.label == label]
            if not rels:
                continue
            rel = min(rels, key=lambda r: r.distance.px)
            seg = _gap_segment(b, self.r.detections[rel.detection].box.as_tuple())
            if seg:
                text = fmt_length(rel.distance.px, rel.distance.mm)
                out.append(_Clearance(*seg, text, label in bad_labels))
        return out

    def _mug_pairs(self) -> list[_Clearance]:
        """Each pair of mugs at most once: when one is the other's near neighbour, or a
        spacing rule of either says they are too close (then red)."""
        mugs = self.r.layout.mugs
        bad = {
            (mp.index, int(m.group(1)))
            for mp in mugs
            for rr in self.violations.get(mp.index, [])
            if (m := _MUG_RE.search(rr.message))
        }
        pairs: dict[tuple[int, int], _Clearance] = {}
        for mp in mugs:
            others = [m for m in mp.mugs if not m.overlapping]
            if not others:
                continue
            nearest = min(others, key=lambda m: m.distance.px)
            for rel in others:
                key = (min(mp.index, rel.mug), max(mp.index, rel.mug))
                violated = key in bad or key[::-1] in bad
                if key in pairs or not (violated or (rel is nearest and rel.distance.pct <= 25)):
                    continue
                seg = _gap_segment(mp.box.as_tuple(), mugs[rel.mug].box.as_tuple())
                if seg:
                    text = fmt_length(rel.distance.px, rel.distance.mm)
                    pairs[key] = _Clearance(*seg, text, violated)
        return list(pairs.values())

    def _dimension_line(self, draw: ImageDraw.ImageDraw, c: _Clearance) -> None:
        """A measured line with end ticks, like a technical drawing."""
        p, q = self.pt(*c.p), self.pt(*c.q)
        colour = VIOLATION_RED if c.violated else CLEARANCE
        w = self.st.line if c.violated else max(1, self.st.line - 1)
        _halo_line(draw, [p, q], colour, w, self.st.halo)
        ux, uy = q[0] - p[0], q[1] - p[1]
        n = math.hypot(ux, uy) or 1.0
        nx, ny = -uy / n, ux / n
        tick = 3.5 * self.st.s + 2
        for x, y in (p, q):
            _halo_line(
                draw, [(x - nx * tick, y - ny * tick), (x + nx * tick, y + ny * tick)], colour, w, 1
            )

    def _clearance_label(self, c: _Clearance) -> None:
        p, q = self.pt(*c.p), self.pt(*c.q)
        mx, my = (p[0] + q[0]) / 2, (p[1] + q[1]) / 2
        size = self.st.small
        w, h = self.labels.measure([[(c.text, _DARK_TEXT)]], size, False)
        horizontal = abs(q[0] - p[0]) >= abs(q[1] - p[1])
        gap = self.st.pad
        if horizontal:  # above or below a horizontal line, else beside a vertical one
            xs = [mx - w / 2, mx - w, mx, mx - 1.5 * w, mx + w / 2]
            cands = [(x, y) for x in xs for y in (my - h - gap, my + gap)]
        else:
            ys = [my - h / 2, my - h, my, my - 1.5 * h, my + h / 2, my - 2.5 * h, my + 1.5 * h]
            cands = [(x, y) for y in ys for x in (mx + gap, mx - w - gap)]
        cands.append((mx - w / 2, my - h / 2))
        colour = VIOLATION_RED if c.violated else CLEARANCE
        text_colour = _LIGHT_TEXT if c.violated else _DARK_TEXT
        self.labels.place([[(c.text, text_colour)]], cands, size=size, bg=(*colour, 225))

    # -- mugs ------------------------------------------------------------------------------

    def _status_colour(self, mp: MugPosition) -> RGB:
        if mp.index in self.violations:
            return VIOLATION_RED
        return OK_GREEN if mp.index in self.checked else UNCHECKED_BLUE

    def _mug_box(self, draw: ImageDraw.ImageDraw, mp: MugPosition) -> None:
        r = self.rect(mp.box)
        _box(draw, r, self._status_colour(mp), self.st.thick, self.st.halo)
        self.labels.obstacles.append((r, 1.0))
        cx, cy = self.pt(mp.center.x, mp.center.y)
        dot = max(2.0, 2.5 * self.st.s)
        draw.ellipse((cx - dot, cy - dot, cx + dot, cy + dot), fill=self._status_colour(mp))

    def _suggestion(self, draw: ImageDraw.ImageDraw, mp: MugPosition) -> None:
        sg = next((s for s in self.r.suggestions if s.mug == mp.index), None)
        if sg is None or not sg.needed or sg.move.length_px < 0.5:
            return
        colour = ARROW_FEASIBLE if sg.feasible else ARROW_COMPROMISE
        _dashed_rect(draw, self.rect(sg.box), colour, self.st.line, dash=4 * self.st.line)
        start = self.pt(mp.center.x, mp.center.y)
        end = self.pt(mp.center.x + sg.move.dx_px, mp.center.y + sg.move.dy_px)
        _arrow(draw, start, end, colour, max(3, round(4 * self.st.s)), self.st.halo)
        # Keep labels off the arrow (above all its head): sample it as small, costly obstacles.
        k = self.st.thick * 2
        for t in np.linspace(0.0, 1.0, 16):
            x = start[0] + (end[0] - start[0]) * t
            y = start[1] + (end[1] - start[1]) * t
            self.labels.obstacles.append(((x - k, y - k, x + k, y + k), 20.0 + 30.0 * t))

    def _suggestion_labels(self) -> None:
        for sg in self.r.suggestions:
            if not sg.needed or sg.move.length_px < 0.5 or sg.mug >= len(self.r.layout.mugs):
                continue
            colour = ARROW_FEASIBLE if sg.feasible else ARROW_COMPROMISE
            length = fmt_length(sg.move.length_px, sg.move.length_mm)
            if self.compact:  # the physical length alone; orange already says "compromise"
                length = length.rsplit(" · ", 1)[-1]
            text = "move " + length
            if not self.compact and not sg.feasible:
                text += " · best compromise"
            r = self.rect(sg.box)
            w, h = self.labels.measure([[(text, _DARK_TEXT)]], self.st.small, False)
            gap = self.st.pad
            cands = [
                (r[0], r[3] + gap),
                (r[0], r[1] - h - gap),
                (r[2] + gap, r[1]),
                (r[0] - w - gap, r[1]),
            ]
            self.labels.place([[(text, _DARK_TEXT)]], cands, size=self.st.small, bg=(*colour, 230))

    def _mug_tag(self, mp: MugPosition) -> None:
        r = self.rect(mp.box)
        score = self.r.scores.mugs[mp.index] if mp.index < len(self.r.scores.mugs) else None
        parts = [f"mug {mp.index}", mp.zone or "outside the work area"]
        if score is not None:
            parts.append(f"{score:.0f}")
        colour = self._status_colour(mp)
        text_colour = _LIGHT_TEXT if colour == VIOLATION_RED else _DARK_TEXT
        line: Line = [(" · ".join(parts), text_colour)]
        w, h = self.labels.measure([line], self.st.text, True)
        cands = [(r[0], r[1] - h), (r[0], r[3]), (r[0], r[1]), (r[2] - w, r[1] - h)]
        self.labels.place([line], cands, bg=(*colour, 235), bold_first=True)

    def _violation_panel(self, mp: MugPosition) -> None:
        bad = self.violations.get(mp.index)
        if not bad:
            return
        shown = sorted(bad, key=lambda rr: -rr.violation)[: 1 if self.compact else 4]
        lines: list[Line] = [[("✗ ", VIOLATION_RED), (_short(rr), _LIGHT_TEXT)] for rr in shown]
        if len(bad) > len(shown):
            lines.append([(f"+ {len(bad) - len(shown)} more", (200, 200, 200))])
        r = self.rect(mp.box)
        w, h = self.labels.measure(lines, self.st.small, False)
        gap = self.st.pad
        cands = [
            (r[0], r[3] + gap),
            (r[2] + gap, r[1]),
            (r[0] - w - gap, r[1]),
            (r[0], r[1] - h - 3 * gap - self.st.text),
            (r[2] + gap, r[3] - h),
            (r[0] - w - gap, r[3] - h),
        ]
        self.labels.place(lines, cands, size=self.st.small, border=VIOLATION_RED)

    # -- scene -----------------------------------------------------------------------------

    def _score_panel(self) -> None:
        r = self.r
        score = r.scores.scene
        n_mugs = len(r.layout.mugs)
        checked = {rr.rule_id for rr in r.rule_results}
        violated = sum(rr.status == "violated" for rr in r.rule_results)
        lines: list[Line]
        if score is None:  # nothing seen, nothing scored
            lines = [[(r.scores.reason or "not scored", NOT_FOUND_AMBER)]]
        else:
            colour = OK_GREEN if score >= 90 else ARROW_COMPROMISE if score >= 60 else VIOLATION_RED
            lines = [[("scene score ", _LIGHT_TEXT), (f"{score:.0f}", colour)]]
        summary = (
            f"{n_mugs} mug{'s' * (n_mugs != 1)} · {len(checked)} rule{'s' * (len(checked) != 1)}"
        )
        if checked:
            summary += f" · {violated} violation{'s' * (violated != 1)}"
        lines.append([(summary, (215, 215, 215))])
        # Rules about objects the detector did not find: said, never counted as met.
        for what in dict.fromkeys(rr.message for rr in r.rule_results if rr.status == "not_found"):
            lines.append([("? ", NOT_FOUND_AMBER), (what, (215, 215, 215))])
        scale = r.layout.scale
        if scale is not None:
            src = scale.source.replace("reference:", "from the ")
            lines.append([(f"scale {scale.mm_per_px:.2f} mm/px ({src})", (215, 215, 215))])
        for note in [] if self.compact else r.notes[:3]:
            for part in textwrap.wrap(note, 44)[:2]:
                lines.append([(part, (175, 175, 175))])
        m = self.st.margin
        W, H = self.size
        w, h = self.labels.measure(lines, self.st.text, True)
        cands = [(W - w - m, m), (m, m), (W - w - m, H - h - m), (m, H - h - m)]
        self.labels.place(lines, cands, bold_first=True)

    def _legend(self) -> None:
        """A colour key with only the entries this picture uses."""
        used: list[tuple[RGB, str]] = []
        colours = {self._status_colour(mp) for mp in self.r.layout.mugs}
        for colour, text in (
            (OK_GREEN, "rules met"),
            (VIOLATION_RED, "rule violated"),
            (UNCHECKED_BLUE, "no rule checked"),
        ):
            if colour in colours:
                used.append((colour, text))
        moves = [s for s in self.r.suggestions if s.needed and s.move.length_px >= 0.5]
        if any(s.feasible for s in moves):
            used.append((ARROW_FEASIBLE, "suggested move"))
        if any(not s.feasible for s in moves):
            used.append((ARROW_COMPROMISE, "best compromise"))
        if self.has_clearance:
            used.append((CLEARANCE, "clearance"))
        if not used:
            return
        line: Line = []
        for colour, text in used:
            line += [("■", colour), (text + "   ", _LIGHT_TEXT)]
        line[-1] = (line[-1][0].rstrip(), line[-1][1])
        m = self.st.margin
        W, H = self.size
        w, h = self.labels.measure([line], self.st.small, False)
        if w > W - 2 * m:  # too wide for a small picture: one entry per line
            lines = [[("■", c), (t, _LIGHT_TEXT)] for c, t in used]
            w, h = self.labels.measure(lines, self.st.small, False)
        else:
            lines = [line]
        cands = [(m, H - h - m), (W - w - m, H - h - m), (m, m)]
        self.labels.place(lines, cands, size=self.st.small)


def _short(rr: RuleResult) -> str:
    """The rule's message without the "mug 0:" prefix (the panel sits by the mug)."""
    return _clip(_PREFIX_RE.sub("", rr.message), 60)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _box(draw: ImageDraw.ImageDraw, r: Rect, colour: RGB, width: int, halo: int) -> None:
    """A rectangle outline between thin dark halos, readable on light and dark photos."""
    x1, y1, x2, y2 = r
    if halo:
        draw.rectangle((x1 - halo, y1 - halo, x2 + halo, y2 + halo), outline=_HALO, width=halo)
        inner = (x1 + width, y1 + width, x2 - width, y2 - width)
        if inner[2] - inner[0] > 2 * halo and inner[3] - inner[1] > 2 * halo:
            draw.rectangle(inner, outline=_HALO, width=halo)
    draw.rectangle(r, outline=colour, width=width)


def _halo_line(
    draw: ImageDraw.ImageDraw,
    points: Sequence[tuple[float, float]],
    colour: RGB,
    width: int,
    halo: int,
) -> None:
    if halo:
        draw.line(list(points), fill=_HALO, width=width + 2 * halo)
    draw.line(list(points), fill=colour, width=width)


def _dashed_line(
    draw: ImageDraw.ImageDraw,
    p: tuple[float, float],
    q: tuple[float, float],
    colour: RGB,
    width: int,
    dash: float,
) -> None:
    length = math.hypot(q[0] - p[0], q[1] - p[1])
    if length == 0:
        return
    ux, uy = (q[0] - p[0]) / length, (q[1] - p[1]) / length
    t = 0.0
    while t < length:
        e = min(t + dash, length)
        seg = [(p[0] + ux * t, p[1] + uy * t), (p[0] + ux * e, p[1] + uy * e)]
        draw.line(seg, fill=_HALO, width=width + 2)
        draw.line(seg, fill=colour, width=width)
        t += dash * 1.8


def _dashed_rect(draw: ImageDraw.ImageDraw, r: Rect, colour: RGB, width: int, dash: float) -> None:
    x1, y1, x2, y2 = r
    for p, q in (
        ((x1, y1), (x2, y1)),
        ((x2, y1), (x2, y2)),
        ((x2, y2), (x1, y2)),
        ((x1, y2), (x1, y1)),
    ):
        _dashed_line(draw, p, q, colour, width, dash)


def _arrow(
    draw: ImageDraw.ImageDraw,
    start: tuple[float, float],
    end: tuple[float, float],
    colour: RGB,
    width: int,
    halo: int,
) -> None:
    """A shaft and a filled head; a short move is all head, so it stays visible."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy)
    if length < 1.0:
        return
    ux, uy = dx / length, dy / length
    head = min(length, 4.5 * width + 4)
    bx, by = end[0] - ux * head, end[1] - uy * head
    half = head * 0.55
    tri = [end, (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)]
    if length > head:
        _halo_line(draw, [start, (bx, by)], colour, width, halo)
    draw.polygon(tri, fill=colour, outline=_HALO, width=max(1, halo))


def draw_analysis(
    pixels: np.ndarray,
    result: AnalysisResult,
    *,
    show_zones: bool = True,
    compact: bool | None = None,
) -> Image.Image:
    """The analysis drawn on its photo (same size as ``pixels``; see the module docstring).

    ``pixels`` is H x W x 3 uint8; when it is a resized copy of the analysed image, every
    coordinate is scaled to it (so thumbnails need no second analysis). ``compact`` (default:
    pictures under 560 px) leaves out clearance numbers, notes and all but the worst violation
    per mug, which would otherwise bury a small picture in labels.
    """
    return _Painter(pixels, result, show_zones, compact).render()


def analysis_thumbnail_png(
    pixels: np.ndarray,
    result: AnalysisResult,
    *,
    max_width: int = 480,
    max_bytes: int = 70_000,
) -> bytes:
    """A small PNG of the analysis (for asset metadata and previews), at most ``max_bytes``.

    The photo is resized first and drawn on at that size, so text stays legible; the result is
    palette-quantised (photos compress poorly as true-colour PNG), with fewer colours and then
    fewer pixels until it fits.
    """
    base = Image.fromarray(np.ascontiguousarray(pixels)).convert("RGB")
    width = min(max_width, base.width)
    data = b""
    while True:
        height = max(1, round(base.height * width / base.width))
        small = np.asarray(base.resize((width, height), Image.Resampling.LANCZOS))
        img = draw_analysis(small, result)
        # Fewer colours before fewer pixels: a photo survives 64 colours better than half size.
        for colours in (256, 128, 64, 48):
            buf = io.BytesIO()
            img.quantize(colors=colours, method=Image.Quantize.FASTOCTREE).save(
                buf, format="PNG", optimize=True
            )
            data = buf.getvalue()
            if len(data) <= max_bytes:
                return data
        if width <= 160:
            return data
        width = int(width * 0.8)
