"""analyze(): the one path from image or detections to positions, rule results and moves."""

from __future__ import annotations

import numpy as np
import pytest
from scene_helpers import det, rule
from skimage import data

from mugpos.analysis import AnalysisError, AnalysisOptions, analyze
from mugpos.errors import ImageError
from mugpos.images import encode_png
from mugpos.rules.parser import parse_rule
from mugpos.rules.schema import RuleSet

STAGES = {"decode", "detect", "position", "rules", "suggest", "score", "total"}


def test_real_detector_on_the_coffee_photo(offline_detector) -> None:  # type: ignore[no-untyped-def]
    rules = [parse_rule("No mug within 10% of the table edge").rule]
    res = analyze(data.coffee(), detector=offline_detector, options=AnalysisOptions(rules=rules))
    mugs = res.layout.mugs
    assert len(mugs) == 1
    mug = mugs[0]
    assert res.detections[mug.detection].raw_label in ("Coffee cup", "Mug")
    assert mug.zone == "center"
    assert 0.3 < mug.center_image.x < 0.7 and 0.2 < mug.center_image.y < 0.7
    s = res.suggestions[0]
    # The cup's top is about 21 px below the photo's top edge; 10% of 400 px is 40 px.
    assert s.needed and s.feasible
    assert s.move.dx_px == pytest.approx(0.0, abs=1e-9)
    # ... plus the documented margin (1% of the short side) so a re-analysis agrees.
    assert s.move.dy_px == pytest.approx(40.0 + 4.0 - mug.box.y1)
    assert res.model_id == offline_detector.id
    assert res.embedding is not None and len(res.embedding) == 1280
    assert abs(float(np.linalg.norm(res.embedding)) - 1.0) < 1e-3
    assert set(res.timings_ms) == STAGES and res.timings_ms["detect"] > 0
    assert res.image.width == 600 and res.image.height == 400


def test_encoded_image_with_precomputed_detections() -> None:
    png = encode_png(np.zeros((100, 200, 3), dtype=np.uint8))
    dets = [det("mug", (10, 10, 30, 30)), det("mug", (100, 10, 120, 30), score=0.1)]
    res = analyze(png, detections=dets)
    assert res.image.sha256 is not None and (res.image.width, res.image.height) == (200, 100)
    assert len(res.layout.mugs) == 1  # the 0.1 detection is under the score threshold
    assert res.embedding is None and res.model_id is None


def test_rule_set_and_hash() -> None:
    rules = RuleSet(rules=(rule("edge_clearance", value=5, unit="%"),))
    res = analyze(
        detections=[det("mug", (0, 0, 10, 10))],
        image_size=(100, 100),
        options=AnalysisOptions(rules=rules),
    )
    assert res.rules_hash == rules.content_hash
    assert res.rule_results[0].status == "violated"


def test_bad_requests_are_typed_errors(offline_detector) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AnalysisError) as err:
        analyze(np.zeros((10, 10, 3), dtype=np.uint8))
    assert err.value.code == "invalid_analysis_request"
    with pytest.raises(AnalysisError):
        analyze(detections=[det("mug", (0, 0, 5, 5))])  # no image, no size
    with pytest.raises(AnalysisError):
        analyze(np.zeros((10, 10), dtype=np.uint8), detector=offline_detector)
    with pytest.raises(AnalysisError):
        analyze(data.coffee(), detector=offline_detector, detections=[])
    with pytest.raises(ImageError):
        analyze(b"not an image", detector=offline_detector)
    with pytest.raises(ValueError):
        AnalysisOptions(rules=[rule("mug_spacing", value=1, unit="cm")] * 2)  # duplicate ids
