"""Plain-language rules → draft :class:`Rule` objects, deterministically (no network, no model).

Grammar, in short (see docs/positioning.md, "Plain-language parser"): a sentence is cut into
clauses (:mod:`mugpos.rules.clauses`); each clause is a bag of tagged phrases — strength
(must/should/could), negation (never/no/not/avoid), one length (number + unit, see
:mod:`mugpos.rules.numbers`) with an optional comparator next to it, and what the mug relates to
(an object, the edge, a zone, a target, other mugs, an alignment). The kind follows from what is
present, in this order: alignment, spacing, edge, target, zone, object. A clause's negation flips
the comparator of its own distance ("no mug within 5% of the edge" = at least 5%) and turns
zones and "on"/"touch" into their negative kinds; it never reaches another clause.

Never invert, never drop: permissions ("can", "may", "needn't", "it's fine to") produce no rule
and say so; directions (left of, above, behind) are "not supported yet"; words that change the
meaning in ways no rule kind holds ("unless", "only", "exactly") fail the parse; a clause with
two anchors and no conjunction is an error, not a merge. Anything that does not yield complete
rules raises :class:`RuleParseError` with a reason and suggestions.
"""

from __future__ import annotations

import difflib
import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mugpos.rules import vocabulary as v
from mugpos.rules.clauses import Clause, split
from mugpos.rules.describe import describe_rule, short_name
from mugpos.rules.errors import RuleParseError
from mugpos.rules.numbers import Quantity
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
_MODALS = {"must", "should", "could", "might", "shall", "need", "needs", "required", "can", "may"}
# Plain permission words that a negation turns into a firm prohibition ("no mug may ...").
_FIRM = {"can", "may", "allowed", "permitted"}


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


def _flip(cmp: str) -> str:
    return v.AT_MOST if cmp == v.AT_LEAST else v.AT_LEAST


def parse_rule(text: str, *, rule_id: str | None = None) -> ParsedRule:
    """Turn a sentence that holds exactly one rule into a draft, or raise
    :class:`RuleParseError` (a sentence with several rules: use :func:`parse_rules`)."""
    drafts = parse_rules(text, rule_id=rule_id)
    if len(drafts) > 1:
        names = "; ".join(d.rule.name for d in drafts)
        raise _fail(
            text,
            f"this sentence holds {len(drafts)} rules ({names})",
            "several_rules",
            ["parse it with parse_rules (the API's /v1/rules/parse returns every rule)"],
        )
    return drafts[0]


def parse_rules(text: str, *, rule_id: str | None = None) -> list[ParsedRule]:
    """Every rule in a sentence, in order ("at least 5 cm from the edge and never on the
    keyboard" is two), or raise :class:`RuleParseError` if any part is not a complete rule."""
    if not text or not text.strip():
        raise _fail(text, "the rule is empty", "empty")
    if len(text) > 1000:
        raise _fail(text[:1000], "the rule is longer than 1000 characters", "too_long")
    s = scan(text)
    _check_ranges(text, s)
    clauses = split(s)
    digest = hashlib.sha256(" ".join(s.tokens).encode()).hexdigest()[:12]
    drafts: list[ParsedRule] = []
    strength: str | None = None  # the last explicit strength: "must be centered and 10 cm ..."
    for k, clause in enumerate(clauses):
        cs = clause.scan(s)
        assumptions: list[str] = []
        fields = _decide(text, cs, assumptions)
        _check_joiners(text, clause, cs)
        sides = set(fields.pop("_sides", ()))
        own, strength = _severity(cs, assumptions, strength)
        fields["severity"] = own
        unused = [w for i, w in cs.unknown if i not in sides]
        if len(clauses) == 1:
            rid = rule_id or f"rule-{digest}"
        else:
            rid = f"{rule_id}-{k + 1}" if rule_id else f"rule-{digest[:9]}-{k + 1}"
        rule = Rule(id=rid, name=short_name(fields), text=text, **fields)
        confidence = max(0.05, 1.0 - 0.15 * len(assumptions) - 0.1 * len(unused))
        drafts.append(
            ParsedRule(
                rule=rule,
                interpretation=describe_rule(rule),
                confidence=round(confidence, 2),
                unused_words=unused,
                assumptions=assumptions,
            )
        )
    return drafts


def _check_ranges(text: str, s: Scan) -> None:
    """ "between 5 and 10 cm" (a number, "and"/"to"/"or", a length) is two rules."""
    starts = {q.start for q in s.quantities}
    for p in s.problems:
        if p.kind != "missing_unit":
            continue
        nxt = p.start + len(p.words.split())
        if nxt + 1 in starts and s.tokens[nxt] in ("and", "to", "or"):
            raise _fail(
                text,
                f"a range ({p.words} {s.tokens[nxt]} ...) is two rules",
                "several_quantities",
                ["split it into two rules, e.g. 'at least 5 cm ...' and 'at most 10 cm ...'"],
            )


def _check_joiners(text: str, clause: Clause, s: Scan) -> None:
    """ "or" between rules is a choice the rule kinds cannot hold, unless negated ("never on
    the laptop or the book" = on neither)."""
    if {"or"} & set(clause.joiners) and not s.of("negation"):
        raise _fail(
            text,
            "alternatives ('... or ...') are not supported: a rule must hold on its own",
            "unsupported",
            ["write each alternative as its own rule, or use 'never ... or ...'"],
        )


def _severity(s: Scan, assumptions: list[str], inherited: str | None) -> tuple[str, str | None]:
    """(severity, the strength later clauses inherit). Modal verbs win over adverbs; a clause
    with none takes the previous clause's ("must be centered and 10 cm from ..."); a negated
    plain permission is a firm prohibition ("no mug may touch the laptop")."""
    tags = s.of("strength")
    modal = [t for t in tags if t.words.split()[0] in _MODALS]
    pick = (modal or tags)[:1]
    if pick:
        return str(pick[0].value), str(pick[0].value)
    firm = [t for t in s.of("permit") if t.words.split()[0] in _FIRM]
    if firm and s.of("negation"):
        return "critical", "critical"
    if inherited is not None:
        return inherited, inherited
    assumptions.append("no strength word (must/should/could): severity 'warning'")
    return "warning", None


def _problems(text: str, s: Scan) -> None:
    for p in s.problems:
        if p.kind == "vague":
            raise _fail(
                text,
                f"'{p.words}' is not a number: how far exactly?",
                "vague_amount",
                [f"give a number, e.g. '{p.words.split()[-1] if p.words else 'cm'}' -> '5 cm'"],
            )
        if p.kind == "negative":
            raise _fail(
                text,
                f"a distance cannot be negative ({p.words})",
                "negative_distance",
                ["give a positive number, e.g. 'at least 5 cm'"],
            )
        if p.kind == "zero":
            raise _fail(
                text,
                f"a distance of zero ({p.words}) checks nothing; give a positive number",
                "zero_distance",
                ["'never on the keyboard' for no overlap, or e.g. 'at least 2 cm'"],
            )
    missing = [p for p in s.problems if p.kind == "missing_unit"]
    if missing:
        num = missing[0].words
        raise _fail(
            text,
            f"{num} has no unit",
            "missing_unit",
            [f"add a unit: {num} cm, {num} in or {num}%"],
        )


def _refusals(text: str, s: Scan) -> None:
    """Sentences that permit, point in a direction, or say more than a rule holds."""
    negated = bool(s.of("negation"))
    for t in s.of("permit"):
        if t.value == "negative" or not negated:
            raise _fail(
                text,
                f"this permits rather than requires ('{t.words}'): it is no rule",
                "permission",
                ["to require it, say 'must' or 'should', e.g. 'Mugs must be centered'"],
            )
    for t in s.of("direction"):
        raise _fail(
            text,
            f"direction relations ('{t.words}') are not supported yet",
            "unsupported",
            ["use a distance ('at least 10 cm from the laptop') or a zone ('in the left half')"],
        )
    for t in s.of("meaning"):
        if t.words == "or" and negated:
            continue
        raise _fail(
            text,
            f"'{t.words}' changes what the rule means in a way no rule kind holds",
            "unsupported",
            ["drop the condition, or write the parts as separate rules"],
        )


def _decide(text: str, s: Scan, assumptions: list[str]) -> dict[str, Any]:
    """One clause's rule fields (without severity) from its tagged phrases."""
    _problems(text, s)
    _refusals(text, s)
    unknown = [w for _, w in s.unknown]
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
    loose = s.of("loose_cmp")
    if loose and q is None:
        raise _fail(
            text,
            f"'{loose[0].words}' needs a number: how far exactly?",
            "vague_amount",
            [f"e.g. '{loose[0].words} 10 cm'"],
        )
    negated = bool(s.of("negation"))
    edge_starts = {t.start for t in s.of("edge")}
    # "near edge" / "far edge" name an edge; they are not the relation "near".
    rel_tags = [
        t for t in s.of("relation") if not (t.end in edge_starts and t.words in ("near", "far"))
    ]
    relations = {str(t.value) for t in rel_tags}
    objects = list(dict.fromkeys(str(o) for o in s.values("object")))
    zones = [str(z) for z in s.values("zone")]
    bound = s.of("comparator")
    cmp_given = str(bound[0].value) if bound else None

    # A negation flips a bound the sentence states (a comparator, "near", "far from"); with
    # none ("don't leave mugs at the edge", "never 5 cm from the laptop") it means "keep away".
    stated = cmp_given is not None or any(
        t.value == "near" or (t.value == "away" and t.words != "from") for t in rel_tags
    )

    def distance(default_cmp: str, default_key: str) -> dict[str, Any]:
        cmp = cmp_given or default_cmp
        if negated:
            cmp = _flip(cmp) if stated else v.AT_LEAST
        if q is None:
            assumptions.append(f"no distance given: assumed {DEFAULTS[default_key]:g}%")
            return {"comparator": cmp, "value": DEFAULTS[default_key], "unit": "%"}
        return {"comparator": cmp, "value": q.value, "unit": q.unit}

    rel_cmp = v.AT_MOST if "near" in relations else v.AT_LEAST
    _single_anchor(text, s, objects, zones, relations)
    if "touch" in relations:
        return _touch(text, objects, negated, q)
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
            return _object(text, objects, negated, relations, q, distance, rel_cmp)
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
        return _object(text, objects, negated, relations, q, distance, rel_cmp)
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


def _touch(text: str, objects: list[str], negated: bool, q: Quantity | None) -> dict[str, Any]:
    """ "never touch / overlap": no overlap with an object, or between mugs (spacing >= 0)."""
    if not negated:
        raise _fail(
            text,
            "requiring mugs to touch or overlap something is not supported",
            "unsupported",
            ["did you mean 'Mugs must never touch the laptop'?"],
        )
    if q is not None:
        raise _fail(
            text,
            f"'touch' with a distance ({q.words}) is unclear",
            "unsupported",
            [f"say 'at least {q.words} from ...'"],
        )
    if len(objects) > 1:
        raise _several_objects(text, objects)
    if objects:
        return {"kind": "not_on_object", "object_label": objects[0]}
    return {"kind": "mug_spacing", "comparator": v.AT_LEAST, "value": 0.0, "unit": "px"}


def _single_anchor(
    text: str, s: Scan, objects: list[str], zones: list[str], relations: set[str]
) -> None:
    """Refuse clauses that hold several rules with no conjunction between them ("in the
    center 10 cm from the laptop"): that is two rules, and a merge would drop one."""
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
    if "apart" in relations and not objects and "touch" not in relations:
        anchors.add("spacing")
    if len(anchors) > 1:
        raise _fail(
            text,
            f"several rules in one clause ({', '.join(sorted(anchors))})",
            "several_rules",
            ["join them with 'and' (one rule each), or write one rule per sentence"],
        )


def _edge_sides(s: Scan, side_zone: list[str]) -> tuple[list[str], list[int]]:
    """Which edges a clause names ("front edge" = bottom, "left and right edges" = both) and
    the positions of those words."""
    sides: list[str] = []
    idx: list[int] = []
    toks = s.tokens
    for t in s.of("edge"):
        j = t.start - 1
        while j >= 0 and (toks[j] in v.EDGE_SIDES or toks[j] in ("and", "or", ",", "the", "&")):
            if toks[j] in ("near", "far") and j != t.start - 1:
                break  # "near the edge" is the relation, "the near edge" the side
            if toks[j] in v.EDGE_SIDES:
                sides.append(v.EDGE_SIDES[toks[j]])
                idx.append(j)
            j -= 1
    sides += [{"left-half": "left", "right-half": "right"}[z] for z in side_zone]
    order = ("left", "right", "top", "bottom")
    return [e for e in order if e in sides], idx


def _several_objects(text: str, objects: list[str]) -> RuleParseError:
    return _fail(
        text,
        f"several objects named ({', '.join(objects)}) in one clause",
        "several_objects",
        [f"join them with 'and', e.g. 'Keep mugs 10 cm from the {objects[0]} and the "
         f"{objects[-1]}' (one rule each)"],
    )  # fmt: skip


def _object(
    text: str,
    objects: list[str],
    negated: bool,
    relations: set[str],
    q: Quantity | None,
    distance: Any,
    rel_cmp: str,
) -> dict[str, Any]:
    if len(objects) > 1:
        raise _several_objects(text, objects)
    obj = objects[0]
    if relations & {"on", "off"} and relations & {"near", "apart"}:
        raise _fail(
            text,
            f"two rules about the {obj} in one clause (near it and on/off it)",
            "several_rules",
            [f"join them with 'and': 'Keep mugs near the {obj} and never on it'"],
        )
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
    if q is None and not (relations & {"near", "away", "apart"}):
        if negated:  # "avoid the keyboard", "no mugs on ... the keyboard": not on it
            return {"kind": "not_on_object", "object_label": obj}
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
