"""Clause splitting: one sentence → the clauses that each hold one rule.

A sentence is cut at separators ("," ";" ".") and at the conjunctions "and", "but", "also",
"plus", "or", "nor" wherever they are not inside a length ("one and a half inches") or a known
phrase ("5 cm or more"). Then the pieces are put back together by what they hold:

* a piece with no *anchor* (no object, edge, zone, target, alignment or other mugs) belongs to
  the piece after it: "keep mugs | and laptops 10 cm apart", "from the left | and right edges";
* a piece with an anchor but no *predicate* (no relation, distance, negation, zone, ...) shares
  the predicate of the clause before it: "10 cm from the laptop | and the keyboard" is two
  rules, both 10 cm; "never on the keyboard, | the laptop | or the book" is three;
* anything else is a clause of its own, with its own negation ("at least 5 cm from the edge |
  and never on the keyboard": the "never" is the second clause's only).

So negation is scoped per clause and nothing is merged: each clause is decided on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mugpos.rules.tokens import SEPARATORS, Scan, Tag

CONJUNCTIONS = frozenset({"and", "but", "also", "plus", "or", "nor", "then"})
ANCHORS = frozenset({"object", "edge", "zone", "target", "align"})
PREDICATES = frozenset(
    {"relation", "comparator", "negation", "zone", "align", "target", "permit", "direction",
     "meaning"}
)  # fmt: skip


@dataclass
class Clause:
    """Token range of one clause; ``shared`` is the clause whose predicate it borrows."""

    lo: int
    hi: int
    shared: Clause | None = None
    joiners: list[str] = field(default_factory=list)  # conjunctions that led into it
    it: Tag | None = None  # the object "it" stands for ("close to the keyboard but not on it")

    def scan(self, s: Scan) -> Scan:
        """The clause's own tags, plus the borrowed predicate (relation, distance, negation,
        strength) of the clause it shares one with."""
        own = s.span(self.lo, self.hi)
        if self.it is not None:
            own.tags.append(self.it)
        if self.shared is None:
            return own
        base = self.shared.scan(s)
        borrowed = [
            t for t in base.tags if t.cat not in ANCHORS and t.cat != "mug" and not _is_apart(t)
        ]
        return Scan(
            tokens=s.tokens,
            quantities=own.quantities or base.quantities,
            problems=own.problems or base.problems,
            tags=[*own.tags, *borrowed],
            unknown=own.unknown,
        )


def _is_apart(t: Tag) -> bool:
    return t.cat == "relation" and t.value == "apart"


def _has(s: Scan, lo: int, hi: int, cats: frozenset[str]) -> bool:
    return any(lo <= t.start < hi and t.cat in cats for t in s.tags)


def _anchored(s: Scan, lo: int, hi: int) -> bool:
    return _has(s, lo, hi, ANCHORS) or any(lo <= t.start < hi and _is_apart(t) for t in s.tags)


def _predicated(s: Scan, lo: int, hi: int) -> bool:
    return (
        _has(s, lo, hi, PREDICATES)
        or any(lo <= q.start < hi for q in s.quantities)
        or any(lo <= p.start < hi for p in s.problems)
    )


def split(s: Scan) -> list[Clause]:
    """The clauses of a scanned sentence, in order (at least one)."""
    covered: set[int] = set()
    for t in s.tags:
        if t.cat != "sep":
            covered.update(range(t.start, t.end))
    for q in s.quantities:
        covered.update(range(q.start, q.end))
    cuts = [
        i
        for i, tok in enumerate(s.tokens)
        if tok in SEPARATORS or (tok in CONJUNCTIONS and i not in covered)
    ]
    pieces: list[tuple[int, int, str]] = []  # (lo, hi, the conjunction before it)
    lo, joiner = 0, ""
    for c in [*cuts, len(s.tokens)]:
        if c > lo:
            pieces.append((lo, c, joiner))
        joiner = s.tokens[c] if c < len(s.tokens) else ""
        lo = c + 1
    if not pieces:
        return [Clause(0, len(s.tokens))]
    # Pieces with no anchor join the piece after them (or the one before, at the end).
    merged: list[tuple[int, int, list[str]]] = []
    pending: tuple[int, list[str]] | None = None
    refers: dict[int, Tag] = {}  # piece start -> the object its "it" stands for
    for lo, hi, joiner in pieces:
        start, joins = (pending[0], [*pending[1], joiner]) if pending else (lo, [joiner])
        pending = None
        it = _antecedent(s, merged, lo, hi)
        if it is not None:
            refers[start] = it
        elif not _anchored(s, lo, hi) and not _permission_only(s, lo, hi):
            pending = (start, joins)
            continue
        merged.append((start, hi, joins))
    if pending is not None:
        if merged:
            lo0, _, joins = merged[-1]
            merged[-1] = (lo0, len(s.tokens), joins)
        else:
            merged.append((pending[0], len(s.tokens), pending[1]))
    clauses: list[Clause] = []
    for lo, hi, joins in merged:
        if clauses and _between_mugs_and(s, clauses[-1], lo, hi):
            clauses[-1].hi = hi  # "10 cm between mugs and the laptop": one clause
            continue
        if clauses and not _predicated(s, lo, hi):
            owner = clauses[-1]
            while owner.shared is not None:
                owner = owner.shared
            clauses.append(Clause(lo, hi, shared=owner, joiners=joins))
        else:
            clauses.append(Clause(lo, hi, joiners=joins, it=refers.get(lo)))
    return clauses


def _antecedent(s: Scan, before: list[tuple[int, int, list[str]]], lo: int, hi: int) -> Tag | None:
    """The object "it" means in an unanchored piece: the one object of the piece before."""
    if "it" not in s.tokens[lo:hi] or _anchored(s, lo, hi) or not before:
        return None
    plo, phi, _ = before[-1]
    objects = [t for t in s.tags if plo <= t.start < phi and t.cat == "object"]
    if len({t.value for t in objects}) != 1:
        return None
    i = lo + s.tokens[lo:hi].index("it")
    return Tag("object", objects[0].value, i, i + 1, "it")


def _between_mugs_and(s: Scan, prev: Clause, lo: int, hi: int) -> bool:
    """ "between mugs | and the laptop": the gap between mugs and an object, not two rules."""
    last = [t for t in s.tags if prev.lo <= t.start < prev.hi and t.cat != "sep"]
    return (
        prev.shared is None
        and bool(last)
        and _is_apart(last[-1])
        and last[-1].words.startswith("between")
        and _has(s, lo, hi, frozenset({"object"}))
        and not _predicated(s, lo, hi)
    )


def _permission_only(s: Scan, lo: int, hi: int) -> bool:
    return _has(s, lo, hi, frozenset({"permit", "direction", "meaning"}))
