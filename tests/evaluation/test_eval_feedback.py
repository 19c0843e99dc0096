"""Feedback documents (as the API stores them) become labels by a documented precedence."""

from __future__ import annotations

import numpy as np

from evaluation.feedback import collect_labels, feedback_dataset, label_from_feedback


def _analysis(rid: str) -> dict:
    return {
        "_id": rid,
        "source": "api",
        "image_sha256": "ab" * 32,
        "result": {
            "image": {"sha256": "ab" * 32, "width": 64, "height": 48, "format": "PNG"},
            "detections": [
                {
                    "label": "laptop",
                    "raw_label": "Laptop",
                    "score": 0.9,
                    "box": {"x1": 30, "y1": 5, "x2": 60, "y2": 30},
                },
                {
                    "label": "mug",
                    "raw_label": "Mug",
                    "score": 0.6,
                    "box": {"x1": 2, "y1": 20, "x2": 12, "y2": 32},
                },
            ],
            "mugs": [{"index": 0, "detection": 1, "box": {"x1": 2, "y1": 20, "x2": 12, "y2": 32}}],
        },
    }


def test_corrected_detections_replace_the_served_ones() -> None:
    fb = {
        "_id": "r1",
        "request_id": "r1",
        "correct": False,
        "corrected_detections": [
            {"label": "Coffee cup", "box": {"x1": 1, "y1": 2, "x2": 11, "y2": 14}}
        ],
    }
    label = label_from_feedback(fb, _analysis("r1"))
    assert not isinstance(label, str)
    assert [(o.label, o.box) for o in label.objects] == [("mug", (1.0, 2.0, 11.0, 14.0))]
    assert label.source == "corrected_detections" and (label.width, label.height) == (64, 48)


def test_confirmed_answer_and_moved_mug() -> None:
    confirmed = label_from_feedback({"_id": "r2", "correct": True}, _analysis("r2"))
    assert not isinstance(confirmed, str)
    assert [o.label for o in confirmed.objects] == ["laptop", "mug"]
    moved = label_from_feedback(
        {"_id": "r3", "correct": False, "corrected_positions": [{"mug": 0, "x": 20, "y": 40}]},
        _analysis("r3"),
    )
    assert not isinstance(moved, str) and moved.source == "corrected_positions"
    mug = moved.objects[1]
    assert mug.box == (15.0, 34.0, 25.0, 46.0)  # same size, centre where the user put it
    assert moved.objects[0] == confirmed.objects[0]  # the laptop did not move


def test_unusable_feedback_is_counted_by_reason() -> None:
    docs = [
        {"_id": "r4", "correct": False},
        {"_id": "r5", "correct": True},
        {"_id": "r6", "correct": True},
    ]
    labels, skipped = collect_labels(docs, {"r4": _analysis("r4"), "r6": _analysis("r6")})
    assert [lb.request_id for lb in labels] == ["r6"]
    assert skipped == {"wrong_without_correction": 1, "analysis_missing": 1}


def test_dataset_keeps_only_labels_whose_image_is_found_at_the_right_size() -> None:
    labels, _ = collect_labels(
        [{"_id": "a", "correct": True}, {"_id": "b", "correct": True}],
        {"a": _analysis("a"), "b": _analysis("b")},
    )
    images = {"ab" * 32: np.zeros((48, 64, 3), np.uint8)}
    ds, missing = feedback_dataset(labels, images.get)
    assert (len(ds.examples), missing) == (2, 0)
    assert ds.examples[0].id == "feedback-a" and len(ds.examples[0].mugs) == 1
    wrong = {"ab" * 32: np.zeros((10, 10, 3), np.uint8)}
    assert feedback_dataset(labels, wrong.get)[1] == 2
