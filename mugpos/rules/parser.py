"""Plain-language rules → a draft :class:`Rule`, deterministically (no network, no model).

Grammar, in short (see docs/positioning.md): a sentence is a bag of tagged phrases —
strength (must/should/could), negation (never/no/not/avoid), one quantity (number + unit) with
an optional comparator next to it, and what the mug relates to (an object, the edge, a zone, a
target, other mugs, an alignment). The kind follows from what is present, in this order:
alignment, spacing, edge, target, zone, object. Negation flips the comparator of distance
rules ("no mug within 5% of the edge" = at least 5%) and turns zones and "on" into their
negative kinds. Anything that does not yield one complete rule raises :class:`RuleParseError`
with suggestions; the parser never returns a rule that checks nothing.
"""

from __future__ import annotations

import difflib
import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mugpos.rules import vocabulary as v
from mugpos.rules.describe import describe_rule, short_name
from mugpos.rules.errors import RuleParseError
from mugpos.rules.schema import Rule
from mugpos.rules.tokens import Scan, scan
from mugpos.units import ReferenceObject

DEFAULTS = {  # value (%) assumed when a sentence gives none
    "near": 10.0,
    "away": 10.0,
    "edge": 5.0,
    "spacing": 5.0,
    "target": 5.0,
    "row": 5.0,
    "column": 5.0,
    "cluster": 15.0,
}
EXAMPLES = [
    "Keep mugs at least 10 cm from the laptop",
    "Mugs should be at least 5 cm apart",
    "No mug within 5% of the table edge",
    "Never put a mug on the keyboard",
    "The mug should be centered",
    "Mugs must not be in the corners",
    "Mugs should be lined up in a row",
]
_MODALS = {"must", "should", "could", "may", "might", "shall", "need", "needs", "required"}


class ParsedRule(BaseModel):
    """A draft rule plus how it was read: for a person to confirm before saving."""

    model_config = ConfigDict(frozen=True)

    rule: Rule
    interpretation: str
    confidence: float = Field(ge=0.0, le=1.0)
    unused_words: list[str]
    assumptions: list[str]


def _fail(text: str, message: str, reason: str, extra: list[str] | None = None) -> RuleParseError:
    return RuleParseError(
        message, text=text, suggestions=[*(extra or []), *EXAMPLES[:3]], reason=reason
    )


def _did_you_mean(words: list[str]) -> list[str]:
    known = sorted(
        {w for table in (v.OBJECTS, v.RELATIONS, v.ZONES, v.ALIGN) for p in table for w in p}
        | {w for p in v.EDGE_WORDS | v.MUG_WORDS for w in p}
        | set(v.UNITS)
    )
    out = []
    for w in words:
        match = difflib.get_close_matches(w, known, n=1, cutoff=0.8)
        if match and match[0] != w:
            out.append(f"did you mean {match[0]!r} instead of {w!r}?")
    return out


def _severity(s: Scan, assumptions: list[str]) -> str:
    tags = s.of("strength")
    modal = [t for t in tags if t.words.split()[0] in _MODALS]
    pick = (modal or tags)[:1]
    if pick:
        return str(pick[0].value)
    assumptions.append("no strength word (must/should/could): severity 'warning'")
    return "warning"


def _flip(cmp: str) -> str:
    return v.AT_MOST if cmp == v.AT_LEAST else v.AT_LEAST


def parse_rule(text: str, *, rule_id: str | None = None) -> ParsedRule:
    """Turn one sentence into a draft rule, or raise :class:`RuleParseError`."""
    if not text or not text.strip():
        raise _fail(text, "the rule is empty", "empty")
    if len(text) > 1000:
        raise _fail(text[:1000], "the rule is longer than 1000 characters", "too_long")
    s = scan(text)
    assumptions: list[str] = []
    fields = _decide(text, s, assumptions)
    sides = {t for t in fields.pop("_sides", ())}
    unused = [w for i, w in s.unknown if i not in sides]
    fields["severity"] = _severity(s, assumptions)
    digest = hashlib.sha256(" ".join(s.tokens).encode()).hexdigest()[:12]
    rule = Rule(id=rule_id or f"rule-{digest}", name=short_name(fields), text=text, **fields)
    confidence = max(0.05, 1.0 - 0.15 * len(assumptions) - 0.1 * len(unused))
    return ParsedRule(
        rule=rule,
        interpretation=describe_rule(rule),
        confidence=round(confidence, 2),
        unused_words=unused,
        assumptions=assumptions,
    )


def _decide(text: str, s: Scan, assumptions: list[str]) -> dict[str, Any]:
    """The rule's fields (without severity) from the tagged phrases."""
    unknown = [w for _, w in s.unknown]
    starts = {q.start for q in s.quantities}
    for i, num in s.bare_numbers:
        if i + 2 in starts and s.tokens[i + 1] in ("and", "to", "or"):
            raise _fail(
                text,
                f"a range ({num} {s.tokens[i + 1]} ...) is two rules",
                "several_quantities",
                ["split it into two rules, e.g. 'at least 5 cm ...' and 'at most 10 cm ...'"],
            )
    if s.bare_numbers:
        num = s.bare_numbers[0][1]
        raise _fail(
            text,
            f"{num} has no unit",
            "missing_unit",
            [f"add a unit: {num} cm, {num} in or {num}%"],
        )
    if any(w in v.SIZE_WORDS for w in unknown) and s.quantities and not s.values("relation"):
        raise _fail(
            text,
            "this states the size of an object, not a rule",
            "reference_size",
            ["pass it as the scale's reference object: parse_reference(text)"],
        )
    if len(s.quantities) > 1:
        words = " and ".join(q.words for q in s.quantities)
        raise _fail(
            text,
            f"more than one distance ({words}); a rule has one",
            "several_quantities",
            ["split it into two rules, e.g. 'at least 5 cm ...' and 'at most 10 cm ...'"],
        )
    q = s.quantities[0] if s.quantities else None
    negated = bool(s.of("negation"))
    relations = set(s.values("relation"))
    objects = list(dict.fromkeys(str(o) for o in s.values("object")))
    zones = [str(z) for z in s.values("zone")]
    bound = [t for t in s.of("comparator")]
    cmp_given = str(bound[0].value) if bound else None

    def distance(default_cmp: str, default_key: str) -> dict[str, Any]:
        cmp = cmp_given or default_cmp
        if negated:
            cmp = _flip(cmp)
        if q is None:
            assumptions.append(f"no distance given: assumed {DEFAULTS[default_key]:g}%")
            return {"comparator": cmp, "value": DEFAULTS[default_key], "unit": "%"}
        return {"comparator": cmp, "value": q.value, "unit": q.unit}

    rel_cmp = v.AT_MOST if "near" in relations else v.AT_LEAST
    _single_anchor(text, s, objects, zones, relations)
    align = [str(a) for a in s.values("align")]
    if align:
        if negated:
            raise _fail(text, "a rule against alignment is not supported", "unsupported")
        # "align ... in a column": the specific axis beats the generic "align" (row).
        axis = next((a for a in align if a != "row"), "row")
        f = distance(v.AT_MOST, axis)
        f["comparator"] = v.AT_MOST
        return {"kind": "alignment", "axis": axis, **f}
    if "apart" in relations and not objects:
        return {"kind": "mug_spacing", **distance(rel_cmp, "spacing")}
    edge_tags = s.of("edge")
    side_zone = [z for z, t in zip(zones, s.of("zone"), strict=True) if t.words.endswith("side")]
    if edge_tags or (side_zone and q is not None):
        if objects:
            return _object(text, s, objects, negated, relations, q, distance, rel_cmp)
        sides, side_idx = _edge_sides(s, side_zone)
        f = {"kind": "edge_clearance", **distance(rel_cmp, "edge"), "_sides": side_idx}
        if sides:
            f["edges"] = tuple(sides)
        return f
    targets = s.values("target")
    if targets or (zones == ["center"] and q is not None):
        target = {"thirds": "thirds", "user": "user"}.get(str(targets[0])) if targets else None
        f = distance(v.AT_LEAST if "away" in relations else v.AT_MOST, "target")
        return {"kind": "near_target", "target": target or "work_area_center", **f}
    if zones:
        if q is not None:
            raise _fail(
                text,
                f"a distance from the {zones[0]} zone is not supported",
                "unsupported",
                ["say 'in the corner' / 'not in the corner', or a distance from the center"],
            )
        zone = next((z for z in zones if z not in ("corner", "center")), zones[0])
        away = negated or "away" in relations
        return {"kind": "not_in_zone" if away else "in_zone", "zone": zone}
    if objects:
        return _object(text, s, objects, negated, relations, q, distance, rel_cmp)
    hint = _did_you_mean(unknown)
    if q is not None:
        raise _fail(
            text,
            f"{q.words} from what? no object, edge or other mug named",
            "missing_object",
            [*hint, f"name one of: {', '.join(sorted(set(v.OBJECTS.values())))}, edge, mugs"],
        )
    if "on" in relations and s.of("table"):
        raise _fail(
            text,
            "mugs are always kept on the work area; this adds no rule",
            "no_constraint",
            ["try 'Keep mugs at least 5 cm from the table edge'"],
        )
    raise _fail(text, "no placement rule found in this sentence", "unparsed", hint)


def _single_anchor(
    text: str, s: Scan, objects: list[str], zones: list[str], relations: set[str]
) -> None:
    """Refuse sentences that hold several rules ("in the center, 10 cm from the laptop")."""
    anchors = set()
    if objects:
        anchors.add("object")
    elif s.of("edge"):
        anchors.add("edge")  # "the laptop's edge" is about the laptop
    side_only = all(t.words.endswith("side") for t in s.of("zone"))
    if zones and not (side_only and "edge" in anchors):
        anchors.add("zone")
    if s.of("target"):
        if zones == ["center"]:
            anchors.discard("zone")
        anchors.add("target")
    if s.of("align"):
        anchors.add("alignment")
    if "apart" in relations and not objects:
        anchors.add("spacing")
    if len(anchors) > 1:
        raise _fail(
            text,
            f"several rules in one sentence ({', '.join(sorted(anchors))})",
            "several_rules",
            ["write one rule per sentence"],
        )


def _edge_sides(s: Scan, side_zone: list[str]) -> tuple[list[str], list[int]]:
    """Which edges a sentence names ("front edge" = bottom) and the positions of those words."""
    sides: list[str] = []
    idx: list[int] = []
    known = dict(s.unknown)
    for t in s.of("edge"):
        before = t.start - 1
        if before >= 0 and before in known and known[before] in v.EDGE_SIDES:
            sides.append(v.EDGE_SIDES[known[before]])
            idx.append(before)
    sides += [{"left-half": "left", "right-half": "right"}[z] for z in side_zone]
    order = ("left", "right", "top", "bottom")
    return [e for e in order if e in sides], idx


def _object(
    text: str,
    s: Scan,
    objects: list[str],
    negated: bool,
    relations: set[str],
    q: object,
    distance: Any,
    rel_cmp: str,
) -> dict[str, Any]:
    if len(objects) > 1:
        raise _fail(
            text,
            f"several objects named ({', '.join(objects)}); a rule has one",
            "several_objects",
            [f"write one rule per object, e.g. 'Keep mugs 10 cm from the {objects[0]}'"],
        )
    obj = objects[0]
    if q is None and "on" in relations:
        if negated:
            return {"kind": "not_on_object", "object_label": obj}
        raise _fail(
            text,
            f"requiring mugs to be on the {obj} is not supported",
            "unsupported",
            [f"did you mean 'Never put a mug on the {obj}'?"],
        )
    if q is None and "off" in relations and not negated:
        return {"kind": "not_on_object", "object_label": obj}
    if q is None and not (relations & {"near", "away", "apart"}) and not negated:
        raise _fail(
            text,
            f"what should mugs do about the {obj}?",
            "missing_relation",
            [f"Keep mugs at least 10 cm from the {obj}", f"Never put a mug on the {obj}"],
        )
    return {"kind": "object_clearance", "object_label": obj, **distance(rel_cmp, "away")}


def parse_reference(text: str) -> ReferenceObject:
    """ "The laptop is 31 cm wide" → the reference object that sets the scene's scale."""
    s = scan(text)
    label = (s.values("object") or (["mug"] if s.of("mug") else []))[:1]
    physical = [q for q in s.quantities if q.unit not in ("px", "%")]
    dims = [v.SIZE_WORDS[w] for _, w in s.unknown if w in v.SIZE_WORDS]
    if not label or len(physical) != 1 or physical[0].value <= 0:
        raise RuleParseError(
            "expected an object and one physical size, e.g. 'the laptop is 31 cm wide'",
            text=text,
            suggestions=["The laptop is 31 cm wide", "The keyboard is 44 cm long"],
            reason="reference_unparsed",
        )
    q = physical[0]
    return ReferenceObject(
        label=str(label[0]),
        size=q.value,
        unit=q.unit,
        dimension=(dims or ["width"])[0],  # type: ignore[arg-type]
    )
