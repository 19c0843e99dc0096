"""API feedback → evaluation examples: what users say is right becomes ground truth.

Expected documents (the document store's ``feedback`` and ``analyses`` collections, as the API
writes them; older field names ``boxes``/``positions`` are accepted too):

* feedback ``{"_id" | "request_id": str, "correct": bool, "corrected_detections": [{"label",
  "box": {"x1","y1","x2","y2"}}] | null, "corrected_positions": [{"mug": int, "x", "y"}] | null,
  "image_sha256": str, "created_at": str}``
* the analysis it is about, keyed by the same request id: ``{"image_sha256", "result" |
  "analysis": {"image": {"width", "height", "sha256"}, "detections": [{"label", "box"}],
  "mugs" | "layout.mugs": [{"detection": int, "box"}]}}``

The labels, in order of authority: corrected detections are the whole truth for the image;
else ``correct: true`` confirms the served detections; corrected positions then move the
served mug boxes (mug index as in the answer) so their centres are where the user put them.
``correct: false`` with no correction says "wrong" without saying what is right: no label.
The API does not keep images, so an example needs its image found by sha256 (the corpus, or a
directory of ``<sha256>.<ext>`` files); labels without one are kept but not evaluated.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from evaluation.dataset import EvalDataset, Example, GtObject, Xyxy
from mugpos.labels import canonical_label

FEEDBACK = "feedback"


@dataclass(frozen=True)
class FeedbackLabel:
    request_id: str
    image_sha256: str
    width: float
    height: float
    objects: tuple[GtObject, ...]
    source: str  # "corrected_detections" | "confirmed" | "corrected_positions"
    created_at: str = ""

    def as_row(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "image_sha256": self.image_sha256,
            "width": self.width,
            "height": self.height,
            "source": self.source,
            "created_at": self.created_at,
            "objects": json.dumps([[o.label, *o.box] for o in self.objects]),
        }


def _box(b: Mapping[str, Any] | list[float]) -> Xyxy:
    if isinstance(b, Mapping):
        return (float(b["x1"]), float(b["y1"]), float(b["x2"]), float(b["y2"]))
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def _body(analysis: Mapping[str, Any]) -> Mapping[str, Any]:
    return analysis.get("result") or analysis.get("analysis") or {}


def _mugs(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(body.get("mugs") or body.get("layout", {}).get("mugs") or [])


def label_from_feedback(
    fb: Mapping[str, Any], analysis: Mapping[str, Any] | None
) -> FeedbackLabel | str:
    """The label one feedback document gives, or the reason it gives none."""
    request_id = str(fb.get("request_id") or fb.get("_id"))
    if analysis is None:
        return "analysis_missing"
    body = _body(analysis)
    image = body.get("image", {})
    sha = fb.get("image_sha256") or analysis.get("image_sha256") or image.get("sha256")
    if not sha or not image.get("width") or not image.get("height"):
        return "image_unknown"
    corrected = fb.get("corrected_detections", fb.get("boxes"))
    positions = fb.get("corrected_positions", fb.get("positions"))
    if corrected is not None:
        objects = [GtObject(canonical_label(d["label"]), _box(d["box"])) for d in corrected]
        source = "corrected_detections"
    elif fb.get("correct") or positions:
        objects = [GtObject(d["label"], _box(d["box"])) for d in body.get("detections", [])]
        source = "confirmed"
        if positions:
            objects, source = _move_mugs(objects, _mugs(body), positions), "corrected_positions"
    else:
        return "wrong_without_correction"
    return FeedbackLabel(
        request_id=request_id,
        image_sha256=str(sha),
        width=float(image["width"]),
        height=float(image["height"]),
        objects=tuple(objects),
        source=source,
        created_at=str(fb.get("created_at", "")),
    )


def _move_mugs(
    objects: list[GtObject], mugs: list[Mapping[str, Any]], positions: Iterable[Mapping[str, Any]]
) -> list[GtObject]:
    out = list(objects)
    for p in positions:
        m = int(p["mug"])
        if not 0 <= m < len(mugs):
            continue
        d = int(mugs[m]["detection"])
        x1, y1, x2, y2 = out[d].box
        dx, dy = float(p["x"]) - (x1 + x2) / 2.0, float(p["y"]) - (y1 + y2) / 2.0
        out[d] = GtObject(out[d].label, (x1 + dx, y1 + dy, x2 + dx, y2 + dy))
    return out


def collect_labels(
    feedback: Iterable[Mapping[str, Any]], analyses: Mapping[str, Mapping[str, Any]]
) -> tuple[list[FeedbackLabel], Counter[str]]:
    """Every usable label (one per request id, sorted) and the count of each skip reason."""
    labels, skipped = [], Counter[str]()
    for fb in feedback:
        rid = str(fb.get("request_id") or fb.get("_id"))
        got = label_from_feedback(fb, analyses.get(rid))
        if isinstance(got, str):
            skipped[got] += 1
        else:
            labels.append(got)
    return sorted(labels, key=lambda lb: lb.request_id), skipped


def feedback_dataset(
    labels: Iterable[FeedbackLabel], find_image: Callable[[str], np.ndarray | None]
) -> tuple[EvalDataset, int]:
    """The labels whose image is found (and has the size the analysis saw), as a dataset; and
    the number left out for lack of an image."""
    examples, missing = [], 0
    for lb in labels:
        pixels = find_image(lb.image_sha256)
        if pixels is None or pixels.shape[:2] != (int(lb.height), int(lb.width)):
            missing += 1
            continue
        examples.append(
            Example(
                id=f"feedback-{lb.request_id}",
                image=pixels,
                objects=list(lb.objects),
                meta={"sha256": lb.image_sha256, "source": lb.source},
            )
        )
    ds = EvalDataset(
        name=FEEDBACK,
        examples=examples,
        description=f"{len(examples)} API images labelled by user feedback.",
    )
    return ds, missing
