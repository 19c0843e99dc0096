"""Scanning a rule sentence: normalise, tokenise, and tag phrases with what they mean.

The scan is purely lexical (no decision about the rule yet): lengths first (see
:mod:`mugpos.rules.numbers`), then the longest known phrase at each position. A comparator
counts only next to a length, so "over" in "over 5 cm" is a comparator while "over the
keyboard" means "on". Separators ("," ";" "and" "but" ...) are kept as tokens: clause splitting
(:mod:`mugpos.rules.clauses`) needs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mugpos.rules import vocabulary as v
from mugpos.rules.numbers import Problem, Quantity, is_digit_token, scan_quantities

_PUNCT = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "″": '"', "′": "'", "–": "-",
                        "—": "-", "−": "-"})  # fmt: skip
_CONTRACTIONS = {
    "don't": "do not", "dont": "do not", "doesn't": "does not", "mustn't": "must not",
    "shouldn't": "should not", "can't": "can not", "cannot": "can not", "won't": "will not",
    "isn't": "is not", "aren't": "are not", "needn't": "need not", "wouldn't": "would not",
    "mayn't": "may not", "it's": "it is", "they're": "they are", "that's": "that is",
    "haven't": "have not", "hasn't": "has not", "shan't": "shall not", "couldn't": "could not",
    "mightn't": "might not", "oughtn't": "ought not",
}  # fmt: skip
_TOKEN = re.compile(r"\d+/\d+|\d+(?:\.\d+)?|[a-z]+(?:'[a-z]+)?|%|''|\"|'|[,;:.!?]")
SEPARATORS = frozenset({",", ";", ":", ".", "!", "?"})


def _lexicon() -> dict[tuple[str, ...], list[tuple[str, object]]]:
    lex: dict[tuple[str, ...], list[tuple[str, object]]] = {}
    tables: list[tuple[str, dict[tuple[str, ...], object]]] = [
        ("comparator", dict(v.COMPARATORS)),
        ("comparator", {("or", "more"): v.AT_LEAST, ("or", "less"): v.AT_MOST,
                        ("or", "further"): v.AT_LEAST, ("or", "farther"): v.AT_LEAST,
                        ("or", "closer"): v.AT_MOST, ("above",): v.AT_LEAST,
                        ("below",): v.AT_MOST, ("or", "above"): v.AT_LEAST,
                        ("or", "below"): v.AT_MOST}),
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
        ("negation", dict.fromkeys(v.PROHIBITIONS, True)),
        ("strength", dict.fromkeys(v.PROHIBITIONS, "critical")),
        ("permit", dict.fromkeys(v.PERMISSIONS_PLAIN, "plain")),
        ("permit", dict.fromkeys(v.PERMISSIONS_NEGATIVE, "negative")),
        ("direction", dict.fromkeys(v.DIRECTIONS, True)),
        ("meaning", {(w,): True for w in v.MEANING_WORDS}),
    ]  # fmt: skip
    for cat, table in tables:
        for phrase, meaning in table.items():
            lex.setdefault(phrase, []).append((cat, meaning))
    return lex


LEXICON = _lexicon()
MAX_PHRASE = max(len(p) for p in LEXICON)


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
    problems: list[Problem] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (position, token)

    def of(self, cat: str) -> list[Tag]:
        return [t for t in self.tags if t.cat == cat]

    def values(self, cat: str) -> list[object]:
        return [t.value for t in self.tags if t.cat == cat]

    def span(self, lo: int, hi: int) -> Scan:
        """The part of the scan inside tokens ``[lo, hi)`` (a clause), positions kept."""
        return Scan(
            tokens=self.tokens,
            quantities=[q for q in self.quantities if lo <= q.start < hi],
            problems=[p for p in self.problems if lo <= p.start < hi],
            tags=[t for t in self.tags if lo <= t.start < hi],
            unknown=[(i, w) for i, w in self.unknown if lo <= i < hi],
        )


_SYMBOLS = (
    ("≥", " at least "), (">=", " at least "), ("≤", " at most "), ("<=", " at most "),
    (">", " more than "), ("<", " less than "), ("&", " and "), ("+", " and "),
)  # fmt: skip


def normalize(text: str) -> str:
    t = text.lower().translate(_PUNCT)
    for sym, words in _SYMBOLS:
        t = t.replace(sym, words)
    t = re.sub(r"[a-z]+'?[a-z]*", lambda m: _CONTRACTIONS.get(m.group(), m.group()), t)
    t = re.sub(r"([a-z])'s\b", r"\1", t)
    t = re.sub(r"\bper\s+cent\b", "percent", t)
    t = re.sub(r"(\d),(\d)", r"\1.\2", t)  # decimal comma
    t = re.sub(r"(?<![\d.])\.(\d)", r"0.\1", t)  # leading decimal point: .5
    # A minus sign before a number is kept as a word (a negative distance is an error).
    t = re.sub(r"(?:(?<=\s)|^)-\s*(?=\d)", " minus ", t)
    t = re.sub(r"(\d)\s*-\s*(?=[a-z])", r"\1 ", t)
    t = re.sub(r"(\d)(?=[a-z%\"'])", r"\1 ", t)
    return t.replace("-", " ")


def tokenize(text: str) -> list[str]:
    out: list[str] = []
    for m in _TOKEN.finditer(normalize(text)):
        tok = m.group()
        if tok in ('"', "'", "''") and not (out and is_digit_token(out[-1])):
            continue  # a quote mark, not inches/feet
        out.append(tok)
    return out


def scan(text: str) -> Scan:
    """Tag every token of ``text``; tokens nobody understands land in ``unknown``."""
    toks = tokenize(text)
    quantities, problems, counts = scan_quantities(toks)
    s = Scan(tokens=toks, quantities=quantities, problems=problems)
    covered = {k for q in s.quantities for k in range(q.start, q.end)}
    covered |= {k for p in problems for k in range(p.start, p.start + len(p.words.split()))}
    starts = {q.start for q in s.quantities}
    ends = {q.end for q in s.quantities}
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
                if length > 1 or phrase[0] in ("minimum", "maximum", "min", "max"):
                    # "at least a hand's width": a bound with no number; the parse asks for one.
                    s.tags.append(Tag("loose_cmp", None, i, i + length, " ".join(phrase)))
                    i += length
                    break
                continue
            words = " ".join(phrase)
            s.tags.extend(Tag(c, m, i, i + length, words) for c, m in entries)
            i += length
            break
        else:
            tok = toks[i]
            if tok in SEPARATORS:
                s.tags.append(Tag("sep", tok, i, i + 1, tok))
            elif tok not in v.FILLERS and not is_digit_token(tok) and i not in counts:
                s.unknown.append((i, tok))
            i += 1
    return s
