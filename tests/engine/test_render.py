"""The analysis picture, checked by its pixels on procedural scenes with exact boxes.

Colours are drawn solid (no anti-aliasing on lines and boxes), so an exact RGB match at a
coordinate proves that element was drawn there.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from evaluation.scenes import generate_scene
from mugpos.analysis import AnalysisOptions, AnalysisResult, analyze
from mugpos.detections import Box, Detection
from mugpos.render_analysis import (
    ARROW_COMPROMISE,
    ARROW_FEASIBLE,
    OK_GREEN,
    UNCHECKED_BLUE,
    VIOLATION_RED,
    analysis_thumbnail_png,
    draw_analysis,
    fmt_length,
)
from mugpos.rules.parser import parse_rule
from mugpos.units import Scale

CLEARANCE_RULES = (
    "Keep mugs at least 10 cm from the laptop",
    "No mug within 5% of the table edge",
    "Mugs should be at least 10 cm apart",
)
CENTRE_RULES = ("The mug should be centered", "Keep mugs at least 10 cm from the laptop")


def scene_analysis(
    seed: int, rules: tuple[str, ...] = (), size: tuple[int, int] = (640, 480), **kw: object
) -> tuple[np.ndarray, AnalysisResult]:
    """A procedural scene analysed from its exact boxes (table included) with its true scale."""
    scene = generate_scene(seed, *size, **kw)  # type: ignore[arg-type]
    dets = [
        Detection(label=o.label, raw_label=o.label, score=0.9, box=Box.from_xyxy(o.box))
        for o in scene.objects
    ]
    dets.append(
        Detection(label="table", raw_label="Table", score=0.9, box=Box.from_xyxy(scene.table))
    )
    options = AnalysisOptions(
        rules=[parse_rule(t).rule for t in rules], scale=Scale(mm_per_px=scene.mm_per_px)
    )
    return scene.image, analyze(detections=dets, image_size=size, options=options)


def colour_share_along(
    img: Image.Image, p: tuple[float, float], q: tuple[float, float], colour: tuple[int, ...]
) -> float:
    """Share of points along p→q (head and tail trimmed) drawn exactly in ``colour``."""
    ts = np.linspace(0.1, 0.6, 30)
    hits = [img.getpixel((round(p[0] + (q[0] - p[0]) * t), round(p[1] + (q[1] - p[1]) * t)))
            for t in ts]  # fmt: skip
    return sum(h == colour for h in hits) / len(hits)


def edge_share(img: Image.Image, box: Box, colour: tuple[int, ...], scale: float = 1.0) -> float:
    """Share of the box's left and right edge pixels drawn exactly in ``colour``."""
    x1, x2 = round(box.x1 * scale), int(box.x2 * scale)
    ys = range(round(box.y1 * scale) + 2, int(box.y2 * scale) - 2)
    hits = [img.getpixel((x, y)) == colour for y in ys for x in (x1, x2)]
    return sum(hits) / len(hits)


def test_feasible_move_is_a_green_arrow_and_the_violating_mug_is_red() -> None:
    pixels, result = scene_analysis(29, CLEARANCE_RULES)
    sg = result.suggestions[0]
    assert sg.needed and sg.feasible and sg.move.length_px > 100  # the scene still shows a move
    img = draw_analysis(pixels, result)
    assert img.size == (pixels.shape[1], pixels.shape[0]) and img.mode == "RGB"

    mug = result.layout.mugs[0]
    start = (mug.center.x, mug.center.y)
    end = (start[0] + sg.move.dx_px, start[1] + sg.move.dy_px)
    assert colour_share_along(img, start, end, ARROW_FEASIBLE) >= 0.8
    assert colour_share_along(img, start, end, ARROW_COMPROMISE) == 0.0
    # The arrow colour is the picture's, not the photo's.
    assert colour_share_along(Image.fromarray(pixels), start, end, ARROW_FEASIBLE) == 0.0

    assert any(r.status == "violated" and r.mug == 0 for r in result.rule_results)
    assert edge_share(img, mug.box, VIOLATION_RED) >= 0.8


def test_compromise_is_an_orange_arrow() -> None:
    pixels, result = scene_analysis(15, CENTRE_RULES)
    sg = result.suggestions[0]
    assert sg.needed and not sg.feasible and sg.move.length_px > 30
    img = draw_analysis(pixels, result)
    mug = result.layout.mugs[0]
    start = (mug.center.x, mug.center.y)
    end = (start[0] + sg.move.dx_px, start[1] + sg.move.dy_px)
    assert colour_share_along(img, start, end, ARROW_COMPROMISE) >= 0.8
    assert colour_share_along(img, start, end, ARROW_FEASIBLE) == 0.0


def test_satisfied_mugs_are_green_and_draw_no_arrow() -> None:
    pixels, result = scene_analysis(0, CLEARANCE_RULES)
    assert result.layout.mugs and not any(s.needed for s in result.suggestions)
    img = draw_analysis(pixels, result)
    for mug in result.layout.mugs:
        assert edge_share(img, mug.box, OK_GREEN) >= 0.8
        assert edge_share(img, mug.box, VIOLATION_RED) == 0.0
    arr = np.asarray(img)
    for colour in (ARROW_FEASIBLE, ARROW_COMPROMISE):
        assert not np.all(arr == colour, axis=-1).any()


def test_no_rules_draws_neutral_mugs_and_no_arrow() -> None:
    pixels, result = scene_analysis(2, (), n_mugs=(2, 2))
    # Only the implicit work-area check ran (it passes: every mug is on the table).
    assert {r.rule_id for r in result.rule_results} == {"builtin.work-area"}
    assert all(r.status == "satisfied" for r in result.rule_results)
    assert len(result.layout.mugs) == 2
    img = draw_analysis(pixels, result)
    assert img.size == (640, 480)
    for mug in result.layout.mugs:
        assert edge_share(img, mug.box, UNCHECKED_BLUE) >= 0.6  # labels may cover a little
    arr = np.asarray(img)
    assert not np.all(arr == ARROW_FEASIBLE, axis=-1).any()
    assert not np.all(arr == VIOLATION_RED, axis=-1).any()


def test_zero_mugs_still_draws_the_scene() -> None:
    pixels, result = scene_analysis(5, CLEARANCE_RULES, n_mugs=(0, 0))
    assert not result.layout.mugs
    img = draw_analysis(pixels, result)
    assert img.size == (640, 480)
    # Something was drawn (work area, context boxes, score panel), the photo is still there.
    diff = np.abs(np.asarray(img, dtype=int) - pixels.astype(int)).sum(axis=-1)
    assert 0.02 < (diff > 60).mean() < 0.6
    assert draw_analysis(pixels, result, show_zones=False).size == (640, 480)


@pytest.mark.parametrize("size", [(300, 225), (3200, 2400)])
def test_lines_scale_with_the_picture(size: tuple[int, int]) -> None:
    pixels, result = scene_analysis(29, CLEARANCE_RULES, size=size)
    img = draw_analysis(pixels, result)
    assert img.size == size and result.layout.mugs
    bad = {r.mug for r in result.rule_results if r.status == "violated"}
    for mug in result.layout.mugs:
        colour = VIOLATION_RED if mug.index in bad else OK_GREEN
        assert edge_share(img, mug.box, colour) >= 0.6
        # Outline thickness: status-coloured pixels inward from the left edge, at mid height.
        x, y = round(mug.box.x1), round(mug.center.y)
        width = 0
        while img.getpixel((x + width, y)) == colour:
            width += 1
        assert width >= (2 if size[0] < 500 else 10)


def test_thumbnail_scales_coordinates_and_stays_small() -> None:
    pixels, result = scene_analysis(29, CLEARANCE_RULES, size=(1280, 960))
    half = np.asarray(Image.fromarray(pixels).resize((640, 480)))
    img = draw_analysis(half, result)  # drawn on a resized copy: boxes follow
    assert edge_share(img, result.layout.mugs[0].box, VIOLATION_RED, scale=0.5) >= 0.8

    png = analysis_thumbnail_png(pixels, result, max_width=480, max_bytes=54_000)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) <= 54_000
    with Image.open(io.BytesIO(png)) as thumb:
        assert thumb.size == (480, 360)


def test_lengths_read_in_px_and_cm() -> None:
    assert fmt_length(38.4, None) == "38 px"
    assert fmt_length(38.4, 61.0) == "38 px · 6.1 cm"
    assert fmt_length(5.0, 7.0) == "5 px · 7 mm"
