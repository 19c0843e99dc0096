"""Scanning a rule sentence: normalise, tokenise, and tag phrases with what they mean.

The scan is purely lexical (no decision about the rule yet): quantities ("6 inches"), then the
longest known phrase at each position. A comparator counts only next to a quantity, so "over"
in "over 5 cm" is a comparator while "over the keyboard" means "on".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mugpos.rules import vocabulary as v

_PUNCT = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "″": '"', "′": "'", "–": "-"})
_CONTRACTIONS = {
    "don't": "do not", "dont": "do not", "doesn't": "does not", "mustn't": "must not",
    "shouldn't": "should not", "can't": "can not", "cannot": "can not", "won't": "will not",
    "isn't": "is not", "aren't": "are not", "needn't": "need not", "wouldn't": "would not",
}  # fmt: skip
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+(?:'[a-z]+)?|%|\"|'")


def _lexicon() -> dict[tuple[str, ...], list[tuple[str, object]]]:
    lex: dict[tuple[str, ...], list[tuple[str, object]]] = {}
    tables: list[tuple[str, dict[tuple[str, ...], object]]] = [
        ("comparator", dict(v.COMPARATORS)),
        ("comparator", {("or", "more"): v.AT_LEAST, ("or", "less"): v.AT_MOST}),
        ("align", dict(v.ALIGN)),
        ("relation", dict(v.RELATIONS)),
        ("zone", dict(v.ZONES)),
        ("target", dict.fromkeys(v.THIRDS_TARGET, "thirds")),
        ("target", dict.fromkeys(v.USER_TARGET, "user")),
        ("edge", dict.fromkeys(v.EDGE_WORDS, True)),
        ("object", dict(v.OBJECTS)),
        ("mug", dict.fromkeys(v.MUG_WORDS, True)),
        ("table", dict.fromkeys(v.TABLE_WORDS, True)),
        ("strength", dict(v.STRENGTH)),
        ("negation", dict.fromkeys(v.NEGATIONS, True)),
    ]
    for cat, table in tables:
        for phrase, meaning in table.items():
            lex.setdefault(phrase, []).append((cat, meaning))
    return lex


LEXICON = _lexicon()
MAX_PHRASE = max(len(p) for p in LEXICON)


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str
    start: int
    end: int  # exclusive
    words: str


@dataclass(frozen=True)
class Tag:
    cat: str
    value: object
    start: int
    end: int
    words: str


@dataclass
class Scan:
    tokens: list[str]
    quantities: list[Quantity] = field(default_factory=list)
    bare_numbers: list[tuple[int, str]] = field(default_factory=list)  # (position, token)
    tags: list[Tag] = field(default_factory=list)
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (position, token)

    def of(self, cat: str) -> list[Tag]:
        return [t for t in self.tags if t.cat == cat]

    def values(self, cat: str) -> list[object]:
        return [t.value for t in self.tags if t.cat == cat]


_SYMBOLS = (
    ("≥", " at least "), (">=", " at least "), ("≤", " at most "), ("<=", " at most "),
    (">", " more than "), ("<", " less than "),
)  # fmt: skip


def normalize(text: str) -> str:
    t = text.lower().translate(_PUNCT)
    for sym, words in _SYMBOLS:
        t = t.replace(sym, words)
    t = re.sub(r"[a-z]+'?[a-z]*", lambda m: _CONTRACTIONS.get(m.group(), m.group()), t)
    t = re.sub(r"'s\b", "", t)
    t = re.sub(r"\bper\s+cent\b", "percent", t)
    t = re.sub(r"(\d),(\d)", r"\1.\2", t)
    t = re.sub(r"(\d)\s*-\s*(?=[a-z])", r"\1 ", t)
    return re.sub(r"(\d)(?=[a-z%\"'])", r"\1 ", t).replace("-", " ")


def tokenize(text: str) -> list[str]:
    out: list[str] = []
    for m in _TOKEN.finditer(normalize(text)):
        tok = m.group()
        if tok in ('"', "'") and not (out and _is_number(out[-1])):
            continue  # a quote mark, not inches/feet
        out.append(tok)
    return out


def _is_number(tok: str) -> bool:
    return tok[0].isdigit()


def _quantities(scan: Scan) -> None:
    toks = scan.tokens
    i = 0
    while i < len(toks):
        tok = toks[i]
        if _is_number(tok) or tok in v.NUMBER_WORDS:
            j = i + 1
            if tok == "half" and j < len(toks) and toks[j] in ("a", "an"):
                j += 1
            if j < len(toks) and toks[j] in v.UNITS:
                unit, factor = v.UNITS[toks[j]]
                value = float(tok) if _is_number(tok) else v.NUMBER_WORDS[tok]
                words = " ".join(toks[i : j + 1])
                scan.quantities.append(Quantity(value * factor, unit, i, j + 1, words))
                i = j + 1
                continue
            nxt = toks[i + 1 : i + 3]
            if _is_number(tok) and not (nxt and (nxt[0],) in v.MUG_WORDS):  # "2 mugs": a count
                scan.bare_numbers.append((i, tok))
        i += 1


def scan(text: str) -> Scan:
    """Tag every token of ``text``; tokens nobody understands land in ``unknown``."""
    s = Scan(tokens=tokenize(text))
    _quantities(s)
    covered = {k for q in s.quantities for k in range(q.start, q.end)}
    starts = {q.start for q in s.quantities}
    ends = {q.end for q in s.quantities}
    toks = s.tokens
    i = 0
    while i < len(toks):
        if i in covered:
            i += 1
            continue
        for length in range(min(MAX_PHRASE, len(toks) - i), 0, -1):
            phrase = tuple(toks[i : i + length])
            if any(k in covered for k in range(i, i + length)) or phrase not in LEXICON:
                continue
            after = i + length + (1 if i + length < len(toks) and toks[i + length] == "of" else 0)
            near_qty = after in starts or i in ends
            entries = [(c, m) for c, m in LEXICON[phrase] if (c == "comparator") == near_qty] or [
                (c, m) for c, m in LEXICON[phrase] if c != "comparator"
            ]
            if not entries:
                continue
            words = " ".join(phrase)
            s.tags.extend(Tag(c, m, i, i + length, words) for c, m in entries)
            i += length
            break
        else:
            tok = toks[i]
            if tok not in v.FILLERS and not _is_number(tok):
                s.unknown.append((i, tok))
            i += 1
    return s
