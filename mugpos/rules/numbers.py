"""Numbers and lengths in rule sentences: "twenty five", "one and a half", "1/2", ".5",
``3"``, "1 foot 6 inches".

Scanning is over tokens (see :mod:`mugpos.rules.tokens`). A *length* is a number followed by a
unit; several lengths in a row ("1 foot 6 inches", "1 m and 20 cm") are one compound length.
Amounts that are not numbers ("a few inches") and signs ("-5 cm") are reported, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from mugpos.rules import vocabulary as v
from mugpos.units import MM_PER_UNIT

_SMALL: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000}
_PARTS = {"half": 0.5, "quarter": 0.25, "third": 1 / 3}
NUMBER_WORDS = frozenset(_SMALL) | frozenset(_SCALES) | frozenset(_PARTS)
VAGUE = frozenset({"few", "several", "some", "couple", "bit", "little", "lot", "many", "bunch"})


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str
    start: int
    end: int  # exclusive
    words: str


@dataclass(frozen=True)
class Problem:
    """Something about an amount that needs a person: vague, negative, zero, or no unit."""

    kind: str  # "vague" | "negative" | "zero" | "missing_unit"
    start: int
    words: str


def is_digit_token(tok: str) -> bool:
    return tok[:1].isdigit()


def _digit_value(tok: str) -> float:
    if "/" in tok:
        num, den = tok.split("/", 1)
        return float(num) / float(den) if float(den) else float("nan")
    return float(tok)


def read_number(toks: list[str], i: int) -> tuple[float, int] | None:
    """The number starting at ``toks[i]`` and the index after it, or ``None``.

    Digits ("12", "2.5", "1/2", "1 1/2", "2 and a half"), words ("twenty five", "two hundred
    and fifty", "one and a half", "a half", "half a", "three quarters", "a hundred").
    """
    n = len(toks)
    if i >= n:
        return None
    tok = toks[i]
    if is_digit_token(tok):
        value, j = _digit_value(tok), i + 1
        if "/" not in tok and j < n and "/" in toks[j]:  # 1 1/2
            value, j = value + _digit_value(toks[j]), j + 1
        return _and_a_half(toks, j, value)
    nxt = toks[i + 1] if i + 1 < n else ""
    if tok in ("a", "an") and nxt in ("half", "quarter"):
        return _PARTS[nxt], i + 2
    if tok == "half" and nxt in ("a", "an"):
        return 0.5, i + 2
    if tok in ("half", "quarter") and nxt in v.UNITS:  # "half inch"
        return _PARTS[tok], i + 1
    if tok in ("a", "an") and nxt in v.UNITS:  # "an inch"
        return 1.0, i + 1
    total, current, j, seen = 0.0, 0.0, i, False
    if tok in ("a", "an") and nxt in _SCALES:  # "a hundred"
        current, j = 1.0, i + 1
    elif tok not in NUMBER_WORDS:
        return None
    while j < n:
        w = toks[j]
        if w in _SMALL:
            current += _SMALL[w]
        elif w in _SCALES:
            current = max(current, 1.0) * _SCALES[w]
            if w == "thousand":
                total, current = total + current, 0.0
        elif w in _PARTS and seen:  # "three quarters"
            current *= _PARTS[w]
        elif w == "quarters" and seen:
            current *= 0.25
        elif w == "and" and seen and j + 1 < n and toks[j + 1] in _SMALL:
            pass  # "two hundred and fifty"
        else:
            break
        seen = True
        j += 1
    if not seen:
        return None
    return _and_a_half(toks, j, total + current)


def _and_a_half(toks: list[str], j: int, value: float) -> tuple[float, int]:
    """ "... and a half" / "... and a quarter" after a number."""
    if toks[j : j + 2] == ["and", "a"] and j + 2 < len(toks):
        part = toks[j + 2]
        if part in ("half", "quarter"):
            return value + _PARTS[part], j + 3
    return value, j


def _unit_at(toks: list[str], j: int) -> tuple[str, float] | None:
    return v.UNITS.get(toks[j]) if j < len(toks) else None


def scan_quantities(toks: list[str]) -> tuple[list[Quantity], list[Problem], set[int]]:
    """Every length in ``toks`` (compound lengths merged), the problems found, and the token
    positions that were numbers without a unit counted as such (e.g. "2 mugs": a count)."""
    out: list[Quantity] = []
    problems: list[Problem] = []
    counts: set[int] = set()
    i = 0
    while i < len(toks):
        if toks[i] in VAGUE or (
            toks[i] in ("a", "an") and i + 1 < len(toks) and toks[i + 1] in VAGUE
        ):
            k = i + (2 if toks[i] in ("a", "an") else 1)
            k += 1 if k < len(toks) and toks[k] == "of" else 0
            if _unit_at(toks, k) is not None or read_number(toks, k) is not None:
                problems.append(Problem("vague", i, " ".join(toks[i : k + 1])))
                i = k + 1
                continue
        negative = toks[i] in ("minus", "negative") and read_number(toks, i + 1) is not None
        start = i
        if negative:
            i += 1
        got = read_number(toks, i)
        if got is None:
            i += 1
            continue
        value, j = got
        unit = _unit_at(toks, j)
        of_a = toks[j : j + 1] == ["of"] and toks[j + 1 : j + 2] in (["a"], ["an"])
        if unit is None and of_a and _unit_at(toks, j + 2) is not None:
            j += 2  # "three quarters of an inch"
            unit = _unit_at(toks, j)
        if toks[i] in ("a", "an", "half") and unit is None:
            i += 1  # the article "a", not a number
            continue
        if unit is None:
            count = j < len(toks) and (toks[j],) in v.MUG_WORDS  # "2 mugs"
            if toks[i] != "one" and not count:
                problems.append(Problem("missing_unit", start, " ".join(toks[start:j])))
            counts.add(i)
            i = j
            continue
        name, factor = unit
        mm_total = _mm(value * factor, name)
        end, smallest = j + 1, name
        # Compound lengths: "1 foot 6 inches", "1 m and 20 cm", 1' 6".
        while True:
            k = end + (1 if end < len(toks) and toks[end] == "and" else 0)
            nxt = read_number(toks, k)
            if nxt is None:
                break
            unit2 = _unit_at(toks, nxt[1])
            if unit2 is None or unit2[0] in ("px", "%") or name in ("px", "%"):
                break
            mm_total += _mm(nxt[0] * unit2[1], unit2[0])
            if MM_PER_UNIT[unit2[0]] < MM_PER_UNIT[smallest]:
                smallest = unit2[0]
            end = nxt[1] + 1
        words = " ".join(toks[start:end])
        total = mm_total / MM_PER_UNIT[smallest] if smallest in MM_PER_UNIT else value * factor
        if negative:
            problems.append(Problem("negative", start, words))
        elif total <= 0:
            problems.append(Problem("zero", start, words))
        else:
            out.append(Quantity(round(total, 9), smallest, start, end, words))
        i = end
    return out, problems, counts


def _mm(value: float, unit: str) -> float:
    return value * MM_PER_UNIT[unit] if unit in MM_PER_UNIT else value
