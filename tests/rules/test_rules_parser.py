"""The plain-language parser: a phrase table, the errors it must raise, and reference sizes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mugpos.rules.errors import RuleParseError
from mugpos.rules.parser import parse_reference, parse_rule
from mugpos.units import to_mm

C, W, I = "critical", "warning", "info"  # noqa: E741
GE, LE = "at_least", "at_most"


def oc(obj: str, cmp: str, value: float, unit: str, sev: str = W) -> dict[str, Any]:
    return {"kind": "object_clearance", "object_label": obj, "comparator": cmp, "value": value,
            "unit": unit, "severity": sev}  # fmt: skip


def edge(cmp: str, value: float, unit: str, sev: str = W, edges: tuple | None = None) -> dict:
    d = {"kind": "edge_clearance", "comparator": cmp, "value": value, "unit": unit, "severity": sev}
    return d | ({"edges": edges} if edges else {})


def spacing(cmp: str, value: float, unit: str, sev: str = W) -> dict[str, Any]:
    return {"kind": "mug_spacing", "comparator": cmp, "value": value, "unit": unit, "severity": sev}


def zone(kind: str, name: str, sev: str = W) -> dict[str, Any]:
    return {"kind": kind, "zone": name, "severity": sev}


def not_on(obj: str, sev: str = W) -> dict[str, Any]:
    return {"kind": "not_on_object", "object_label": obj, "severity": sev}


def near(target: str, cmp: str, value: float, unit: str, sev: str = W) -> dict[str, Any]:
    return {"kind": "near_target", "target": target, "comparator": cmp, "value": value,
            "unit": unit, "severity": sev}  # fmt: skip


def align(axis: str, value: float, unit: str, sev: str = W) -> dict[str, Any]:
    return {"kind": "alignment", "axis": axis, "comparator": LE, "value": value, "unit": unit,
            "severity": sev}  # fmt: skip


PHRASES: list[tuple[str, dict[str, Any]]] = [
    # The sentences the system we replace got wrong.
    ("Keep mugs at least 6 inches away from laptops", oc("laptop", GE, 6, "in")),
    ("Mugs should be at least 5cm apart", spacing(GE, 5, "cm")),
    ("The mug should be centered", zone("in_zone", "center")),
    ("Never put a mug on the keyboard", not_on("keyboard", C)),
    ("No mug within 5% of the table edge", edge(GE, 5, "%")),
    # Units and their spellings.
    ('Keep cups 3" from the mouse', oc("mouse", GE, 3, "in")),
    ("Keep mugs half an inch from the laptop", oc("laptop", GE, 0.5, "in")),
    ("Keep mugs at least 5 centimetres from the screen", oc("monitor", GE, 5, "cm")),
    ("Mugs must be more than 1 ft from the computer", oc("laptop", GE, 12, "in", C)),
    ("Keep mugs at least 150 px from the laptop", oc("laptop", GE, 150, "px")),
    ("Keep mugs 10% away from the display", oc("monitor", GE, 10, "%")),
    ("Mugs should be 5 percent from the border", edge(GE, 5, "%")),
    ("Keep mugs 0.3 m from the bottle", oc("bottle", GE, 0.3, "m")),
    ("Keep mugs 25 mm from the phone", oc("phone", GE, 25, "mm")),
    ("Keep mugs 2,5 cm from the book", oc("book", GE, 2.5, "cm")),
    ("Keep mugs ten centimeters from the laptop", oc("laptop", GE, 10, "cm")),
    ("mugs >= 5 cm from laptop", oc("laptop", GE, 5, "cm")),
    # Comparators.
    ("Mugs must be no less than 5cm apart", spacing(GE, 5, "cm", C)),
    ("Keep mugs over 5 cm from the bottle", oc("bottle", GE, 5, "cm")),
    ("Keep mugs within 20 cm of the notebook", oc("laptop", LE, 20, "cm")),
    ("Mugs should stay under 40 cm from the keyboard", oc("keyboard", LE, 40, "cm")),
    ("Mugs must be at most 30cm from the monitor", oc("monitor", LE, 30, "cm", C)),
    ("Keep mugs no more than 1 m from the laptop", oc("laptop", LE, 1, "m")),
    ("Mugs need a minimum of 5 cm spacing", spacing(GE, 5, "cm", C)),
    ("Keep mugs 5 cm or more from the front edge", edge(GE, 5, "cm", edges=("bottom",))),
    # Negation.
    ("Never place a mug closer than 3 cm to the edge", edge(GE, 3, "cm", C)),
    ("Mugs should never be more than 30cm from the keyboard", oc("keyboard", LE, 30, "cm")),
    ("Don't put mugs near the laptop", oc("laptop", GE, 10, "%")),
    ("Do not place mugs over the keyboard", not_on("keyboard")),
    ("Don't place mugs on top of books", not_on("book")),
    ("Mugs should not be in the corners", zone("not_in_zone", "corner")),
    ("Avoid the center", zone("not_in_zone", "center")),
    ("Keep the mug out of the center", zone("not_in_zone", "center")),
    ("Never put mugs in the top-left corner", zone("not_in_zone", "top-left", C)),
    # Objects, synonyms and relations.
    ("Keep mugs away from the monitor", oc("monitor", GE, 10, "%")),
    ("Mugs should be next to the keyboard", oc("keyboard", LE, 10, "%")),
    ("Keep the mug off the laptop", not_on("laptop")),
    ("A mug must never sit on the mouse", not_on("mouse", C)),
    ("Keep 10 cm between mugs and the laptop", oc("laptop", GE, 10, "cm")),
    ("Keep mugs and laptops 10 cm apart", oc("laptop", GE, 10, "cm")),
    ("Mugs must stay clear of the keyboard by 5 cm", oc("keyboard", GE, 5, "cm", C)),
    ("Leave 8 cm between cups", spacing(GE, 8, "cm")),
    ("Mugs should be at least 10 cm from each other", spacing(GE, 10, "cm")),
    ("Keep the 2 mugs 5 cm apart", spacing(GE, 5, "cm")),
    # Edges.
    ("Keep mugs at least 2 inches from the left edge", edge(GE, 2, "in", edges=("left",))),
    ("Mugs should stay within 10 cm of the back edge", edge(LE, 10, "cm", edges=("top",))),
    ("Keep mugs 50 px from the edges of the desk", edge(GE, 50, "px")),
    ("Keep mugs 5 cm from the right side", edge(GE, 5, "cm", edges=("right",))),
    # Zones and targets.
    ("The mug should be in the middle of the table", zone("in_zone", "center")),
    ("Mugs must be centred", zone("in_zone", "center", C)),
    ("Mugs belong in the left third", zone("in_zone", "left-third")),
    ("Keep mugs in the right half of the desk", zone("in_zone", "right-half")),
    ("Mugs should sit on the left side", zone("in_zone", "left-half")),
    ("Place the mug within 5 cm of the center", near("work_area_center", LE, 5, "cm")),
    ("Put the mug on a rule of thirds point", near("thirds", LE, 5, "%")),
    ("Mugs should be close to the target", near("user", LE, 5, "%")),
    # Alignment.
    ("Mugs should be lined up in a row", align("row", 5, "%")),
    ("Align mugs in a column within 2 cm", align("column", 2, "cm")),
    ("Keep mugs together", align("cluster", 15, "%")),
    # Strength words.
    ("Mugs could be 3 cm from the phone", oc("phone", GE, 3, "cm", I)),
    ("Ideally keep mugs 3 cm from the phone", oc("phone", GE, 3, "cm", W)),
    ("Mugs always have to be 3 cm from the phone", oc("phone", GE, 3, "cm", C)),
]


def test_the_table_is_large_enough() -> None:
    assert len(PHRASES) >= 40
    assert len({t for t, _ in PHRASES}) == len(PHRASES)


@pytest.mark.parametrize(("text", "expected"), PHRASES, ids=[t for t, _ in PHRASES])
def test_phrase(text: str, expected: dict[str, Any], semantics: Callable[[str], dict]) -> None:
    assert semantics(text) == {"subject": "mug", **expected}


def test_regressions_in_millimetres() -> None:
    six = parse_rule("Keep mugs at least 6 inches away from laptops").rule
    assert to_mm(six.value, six.unit) == pytest.approx(152.4)  # type: ignore[arg-type]
    five = parse_rule("Mugs should be at least 5cm apart").rule
    assert to_mm(five.value, five.unit) == pytest.approx(50.0)  # type: ignore[arg-type]


def test_draft_carries_text_interpretation_confidence_and_unused_words() -> None:
    parsed = parse_rule("Please keep mugs at least 6 inches away from laptops, thanks")
    assert parsed.rule.text == "Please keep mugs at least 6 inches away from laptops, thanks"
    assert parsed.unused_words == ["please", "thanks"]
    assert "at least 6 in (152.4 mm)" in parsed.interpretation
    assert "laptop" in parsed.interpretation
    assert parsed.confidence < parse_rule("Mugs must be at least 6 in from laptops").confidence
    assert parse_rule("Mugs must be at least 6 in from laptops").confidence == 1.0
    assert parsed.assumptions  # no strength word: severity assumed
    assert (
        parsed.rule.id
        == parse_rule("please keep mugs at least 6 inches away from laptops, thanks").rule.id
    )


def test_same_sentence_same_draft() -> None:
    a = parse_rule("Never put a mug on the keyboard")
    b = parse_rule("Never put a mug on the keyboard")
    assert a == b
    assert parse_rule("Never put a mug on the keyboard", rule_id="kb").rule.id == "kb"


UNPARSEABLE: list[tuple[str, str]] = [
    ("", "empty"),
    ("   ", "empty"),
    ("I like coffee", "unparsed"),
    ("Keep mugs 5 from the laptop", "missing_unit"),
    ("Keep mugs 5 cm", "missing_object"),
    ("Keep mugs 10 cm from the cat", "missing_object"),
    ("Keep mugs 10cm from the laptpo", "missing_object"),
    ("Mugs must be on the laptop", "unsupported"),
    ("Keep mugs between 5 and 10 cm from the laptop", "several_quantities"),
    ("Keep mugs 5 cm from the laptop, at most 10 cm", "several_quantities"),
    ("The laptop is 31 cm wide", "reference_size"),
    ("Keep mugs 5 cm from the book laptop", "several_objects"),
    ("Don't align mugs", "unsupported"),
    ("Mugs must be on the table", "no_constraint"),
    ("Keep mugs 10 cm from the corner", "unsupported"),
    ("Keep mugs in the center of the table at least 10 cm from the laptop", "several_rules"),
    ("Keep mugs together in the center", "several_rules"),
    ("mugs laptop", "missing_relation"),
    ("x" * 1001, "too_long"),
]


@pytest.mark.parametrize(("text", "reason"), UNPARSEABLE, ids=[t[:40] for t, _ in UNPARSEABLE])
def test_unparseable_sentences_raise_the_documented_error(text: str, reason: str) -> None:
    with pytest.raises(RuleParseError) as err:
        parse_rule(text)
    e = err.value
    assert e.code == "rule_parse_error"
    assert e.reason == reason
    assert e.suggestions and all(isinstance(s, str) and s for s in e.suggestions)
    assert e.details["text"] == text[:1000]


def test_typo_suggestion() -> None:
    with pytest.raises(RuleParseError) as err:
        parse_rule("Keep mugs 10cm from the laptpo")
    assert "did you mean 'laptop' instead of 'laptpo'?" in err.value.suggestions


def test_reference_sizes() -> None:
    ref = parse_reference("The laptop is 31 cm wide")
    assert (ref.label, ref.size, ref.unit, ref.dimension) == ("laptop", 31.0, "cm", "width")
    ref = parse_reference("My keyboard is 17.5 inches long")
    assert (ref.label, ref.size, ref.unit, ref.dimension) == ("keyboard", 17.5, "in", "longest")
    assert parse_reference("the mug is 9.5 cm tall").dimension == "height"
    with pytest.raises(RuleParseError) as err:
        parse_reference("the laptop is big")
    assert err.value.reason == "reference_unparsed"
    with pytest.raises(RuleParseError):
        parse_reference("the laptop is 10% wide")
