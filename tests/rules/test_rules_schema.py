"""The rule schema: validation per kind, the content hash, and descriptions."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mugpos.rules.describe import describe_rule
from mugpos.rules.schema import Rule, RuleSet, rules_hash


def r(**fields) -> Rule:  # type: ignore[no-untyped-def]
    return Rule(**{"name": "n", **fields})


def test_defaults_and_canonical_labels() -> None:
    rule = r(kind="object_clearance", value=5, unit="cm", object_label="Computer Mouse")
    assert rule.object_label == "mouse" and rule.comparator == "at_least"
    assert rule.severity == "warning" and rule.enabled and rule.version == 1
    assert rule.subject == "mug" and rule.id.startswith("rule-")
    assert r(kind="near_target", value=5, unit="%").target == "work_area_center"
    assert r(kind="alignment", axis="row", value=5, unit="%").comparator == "at_most"
    assert r(kind="edge_clearance", value=1, unit="px", edges=["top", "left"]).edges == (
        "left",
        "top",
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "object_clearance", "value": 5, "unit": "cm"},  # no object
        {"kind": "object_clearance", "object_label": "laptop"},  # no value
        {"kind": "mug_spacing", "value": 5},  # no unit
        {"kind": "mug_spacing", "value": -1, "unit": "cm"},  # negative
        {"kind": "mug_spacing", "value": float("inf"), "unit": "cm"},
        {"kind": "mug_spacing", "value": 5, "unit": "furlong"},
        {"kind": "in_zone"},  # no zone
        {"kind": "in_zone", "zone": "center", "value": 5, "unit": "cm"},  # value is ignored: refuse
        {"kind": "not_on_object", "object_label": "mug"},  # mugs use mug_spacing
        {"kind": "alignment", "value": 5, "unit": "%"},  # no axis
        {"kind": "alignment", "axis": "row", "value": 5, "unit": "%", "comparator": "at_least"},
        {"kind": "edge_clearance", "value": 5, "unit": "%", "edges": []},
        {"kind": "teleport"},
        {"kind": "in_zone", "zone": "center", "colour": "red"},  # unknown field
        {"kind": "in_zone", "zone": "center", "id": "Has Spaces"},
        {"kind": "in_zone", "zone": "center", "severity": "fatal"},
    ],
)
def test_invalid_rules_are_rejected(fields: dict) -> None:
    with pytest.raises(ValidationError):
        r(**fields)


def test_hash_covers_semantics_only_and_ignores_order_and_disabled_rules() -> None:
    a = r(id="a", kind="mug_spacing", value=5, unit="cm")
    b = r(id="b", kind="not_on_object", object_label="keyboard", severity="critical")
    off = r(id="c", kind="in_zone", zone="center", enabled=False)
    h = RuleSet(rules=(a, b)).content_hash
    assert len(h) == 64
    assert RuleSet(rules=(b, a, off)).content_hash == h
    renamed = a.model_copy(update={"id": "z", "name": "other", "text": "x", "version": 7})
    assert rules_hash([renamed, b]) == h
    assert rules_hash([a.model_copy(update={"value": 6.0}), b]) != h
    assert rules_hash([a, b.model_copy(update={"severity": "warning"})]) != h
    assert rules_hash([]) == rules_hash([off])


def test_rule_set_rejects_duplicate_ids() -> None:
    a = r(id="a", kind="mug_spacing", value=5, unit="cm")
    with pytest.raises(ValidationError):
        RuleSet(rules=(a, a))
    assert RuleSet(rules=(a,)).enabled == (a,)


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"kind": "edge_clearance", "value": 5, "unit": "%"},
         "at least 5% (of the work area's shorter side) from the work area's"),
        ({"kind": "edge_clearance", "value": 5, "unit": "cm", "comparator": "at_most",
          "edges": ["bottom"]}, "within 5 cm (50 mm) of the work area's bottom edge"),
        ({"kind": "object_clearance", "value": 6, "unit": "in", "object_label": "laptop",
          "severity": "critical"}, "must stay at least 6 in (152.4 mm) from every laptop"),
        ({"kind": "object_clearance", "value": 20, "unit": "cm", "object_label": "mouse",
          "comparator": "at_most"}, "should stay within 20 cm (200 mm) of a mouse"),
        ({"kind": "mug_spacing", "value": 5, "unit": "cm"}, "from every other mug"),
        ({"kind": "mug_spacing", "value": 0, "unit": "px"}, "not touch or overlap another mug"),
        ({"kind": "in_zone", "zone": "center"}, "in the center zone"),
        ({"kind": "not_in_zone", "zone": "corner"}, "not have its center in the corner zone"),
        ({"kind": "not_on_object", "object_label": "keyboard"}, "not overlap any keyboard"),
        ({"kind": "near_target", "value": 5, "unit": "%", "target": "thirds"}, "rule-of-thirds"),
        ({"kind": "alignment", "axis": "column", "value": 2, "unit": "cm"}, "in a column"),
        ({"kind": "alignment", "axis": "row", "value": 3, "unit": "%"},
         "within 3% (of the work area's height)"),
    ],
)  # fmt: skip
def test_descriptions(fields: dict, needle: str) -> None:
    assert needle in describe_rule(r(**fields))


def test_unknown_object_labels_are_refused_with_the_known_ones() -> None:
    with pytest.raises(ValidationError) as err:
        Rule(id="cat", name="cat", kind="not_on_object", object_label="cat")
    text = str(err.value)
    assert "unknown object label 'cat'" in text
    assert "laptop, monitor, mouse" in text  # the known labels, sorted
    # Raw detector spellings still map to a known label.
    assert Rule(id="m", name="m", kind="not_on_object", object_label="Computer Mouse").object_label


def test_builtin_ids_are_reserved() -> None:
    with pytest.raises(ValidationError):
        Rule(id="builtin.work-area", name="x", kind="not_in_zone", zone="corner")
