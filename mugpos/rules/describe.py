"""Rules in words: a short name for lists and a full sentence for "here is what I understood"."""

from __future__ import annotations

from typing import Any

from mugpos.rules.schema import Rule
from mugpos.units import is_physical, to_mm

_SYMBOL = {"at_least": "≥", "at_most": "≤"}
_WORDS = {"at_least": "at least", "at_most": "at most"}
# What 100 % means (mugpos.positioning.constraints.percent_base).
_PERCENT_OF = {"row": "height", "column": "width"}
_TARGETS = {
    "work_area_center": "the center of the work area",
    "image_center": "the center of the image",
    "thirds": "the nearest rule-of-thirds point",
    "user": "the target",
}


def _qty(value: float | None, unit: str | None) -> str:
    if value is None or unit is None:
        return ""
    text = f"{value:g}%" if unit == "%" else f"{value:g} {unit}"
    if is_physical(unit) and unit != "mm":
        text += f" ({to_mm(value, unit):g} mm)"
    return text


def short_name(f: dict[str, Any]) -> str:
    """A compact name from rule fields, e.g. ``laptop clearance ≥ 6 in``."""
    kind = f["kind"]
    cmp = _SYMBOL.get(f.get("comparator") or "", "")
    qty = _qty(f.get("value"), f.get("unit")).split(" (")[0]
    if kind == "edge_clearance":
        edges = f.get("edges")
        which = "/".join(edges) + " " if edges else ""
        return f"{which}edge clearance {cmp} {qty}"
    if kind == "object_clearance":
        return f"{f['object_label']} clearance {cmp} {qty}"
    if kind == "mug_spacing":
        return f"mug spacing {cmp} {qty}"
    if kind == "in_zone":
        return f"in zone {f['zone']}"
    if kind == "not_in_zone":
        return f"not in zone {f['zone']}"
    if kind == "not_on_object":
        return f"not on {f['object_label']}"
    if kind == "near_target":
        return f"distance to {f.get('target') or 'work_area_center'} {cmp} {qty}"
    return f"{f.get('axis')} alignment {cmp} {qty}"


def describe_rule(rule: Rule) -> str:
    """One sentence a person can check against what they meant."""
    must = {"critical": "must", "warning": "should", "info": "may ideally"}[rule.severity]
    cmp = _WORDS.get(rule.comparator or "", "")
    qty = _qty(rule.value, rule.unit)
    k = rule.kind
    if rule.unit == "%" and qty:  # a bare "10%" leaves the reader guessing: of what?
        qty += f" (of the work area's {_PERCENT_OF.get(rule.axis or '', 'shorter side')})"
    if k == "edge_clearance":
        edges = (
            " and ".join(rule.edges) + " edge" + ("s" if len(rule.edges) > 1 else "")
            if (rule.edges)
            else "edges"
        )
        body = f"stay {cmp} {qty} from the work area's {edges}"
        if rule.comparator == "at_most":
            body = f"stay within {qty} of the work area's {edges}"
    elif k == "object_clearance":
        body = f"stay {cmp} {qty} from every {rule.object_label} (box-to-box distance)"
        if rule.comparator == "at_most":
            body = f"stay within {qty} of a {rule.object_label} (box-to-box distance)"
    elif k == "mug_spacing" and rule.comparator == "at_least" and not rule.value:
        body = "not touch or overlap another mug"  # "never touch": spacing >= 0
    elif k == "mug_spacing":
        body = f"stay {cmp} {qty} from every other mug (box-to-box distance)"
        if rule.comparator == "at_most":
            body = f"stay within {qty} of another mug (box-to-box distance)"
    elif k == "in_zone":
        body = f"have its center in the {rule.zone} zone of the work area"
    elif k == "not_in_zone":
        body = f"not have its center in the {rule.zone} zone of the work area"
    elif k == "not_on_object":
        body = f"not overlap any {rule.object_label}"
    elif k == "near_target":
        body = f"have its center {cmp} {qty} from {_TARGETS[rule.target or 'user']}"
    else:
        line = {"row": "a row (same height)", "column": "a column", "cluster": "a cluster"}
        body = f"line up with the other mugs in {line[rule.axis or 'row']}, within {qty}"
    return f"Each mug {must} {body} [{rule.severity}]."
