"""The events one served analysis gives rise to, built from the answer the caller got.

From the position answer (its JSON, the public shape) rather than from engine objects: a cache
hit has no engine objects, and a webhook receiver should see the same numbers the caller saw.
Lists are capped so one hostile scene (hundreds of mugs, each breaking every rule) cannot make
a multi-megabyte event; the totals are always given in full.
"""

from __future__ import annotations

from typing import Any

from mugpos.events.types import Event, EventSource

MAX_ITEMS = 50


def analysis_events(
    answer: dict[str, Any], *, source: EventSource = "api", subject: str | None = None
) -> list[Event]:
    """positioning_analyzed always; mug_detected when mugs were found; rule_triggered when a
    rule was violated."""
    scene = answer.get("scene") or {}
    mugs = answer.get("mugs") or []
    image = answer.get("image") or {}
    models = answer.get("models") or {}
    violations = list(_violations(answer))
    common = {
        "request_id": answer.get("request_id"),
        "image_sha256": image.get("sha256"),
    }
    events = [
        Event(
            type="positioning_analyzed",
            source=source,
            subject=subject,
            data={
                **common,
                "width": image.get("width"),
                "height": image.get("height"),
                "mugs": len(mugs),
                "detections": len(answer.get("detections") or []),
                # null with a reason when no mug was found: nothing was scored
                "scene_score": scene.get("score"),
                "score_reason": scene.get("score_reason"),
                "violations": len(violations),
                "partial": bool(scene.get("partial")),
                "cache": answer.get("cache"),
                "detector": (models.get("detector") or {}).get("id"),
                "detector_version": (models.get("detector") or {}).get("version"),
            },
        )
    ]
    if mugs:
        events.append(
            Event(
                type="mug_detected",
                source=source,
                subject=subject,
                data={
                    **common,
                    "count": len(mugs),
                    "mugs": [_mug(m) for m in mugs[:MAX_ITEMS]],
                    "truncated": len(mugs) > MAX_ITEMS,
                },
            )
        )
    if violations:
        events.append(
            Event(
                type="rule_triggered",
                source=source,
                subject=subject,
                data={
                    **common,
                    "scene_score": scene.get("score"),
                    "count": len(violations),
                    "violations": violations[:MAX_ITEMS],
                    "truncated": len(violations) > MAX_ITEMS,
                },
            )
        )
    return events


def _mug(m: dict[str, Any]) -> dict[str, Any]:
    suggestion = m.get("suggestion") or {}
    return {
        "index": m.get("index"),
        "confidence": m.get("confidence"),
        "box": m.get("box"),
        "zone": m.get("zone"),
        "score": m.get("score"),
        "move": suggestion.get("move") if suggestion.get("needed") else None,
    }


def _violations(answer: dict[str, Any]) -> list[dict[str, Any]]:
    results = [r for m in answer.get("mugs") or [] for r in m.get("rule_results") or []]
    results += (answer.get("scene") or {}).get("rule_results") or []
    moves = {
        m.get("index"): (m.get("suggestion") or {}).get("move")
        for m in answer.get("mugs") or []
        if (m.get("suggestion") or {}).get("needed")
    }
    return [
        {
            "mug": r.get("mug"),
            "rule_id": r.get("rule_id"),
            "rule_name": r.get("rule_name"),
            "severity": r.get("severity"),
            "measured": r.get("measured"),
            "required": r.get("required"),
            "unit": r.get("unit"),
            "message": r.get("message"),
            "suggested_move": moves.get(r.get("mug")),
        }
        for r in results
        if r.get("status") == "violated"
    ]
