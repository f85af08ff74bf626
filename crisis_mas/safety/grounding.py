"""Grounding: every place, service, unit, resource and figure an answer names must trace to what
the expert was given (the prompt: scenario, retrieved passages, its persona; the scenario file;
the roster) or to the reference tables (HAZMAT tables, the Greek lexicon in `safety.lexicon`).

`check(text, reference)` finds the claims in an answer and says, for each, where it was found
(`source`) or that it was found nowhere (`source=None`: ungrounded). Claims are:
- names: capitalised words and runs of them ("Limni harbour" -> "Limni") that are not ordinary
  vocabulary ("Evacuate", "Smoke" at a sentence start are not claims); grounded when the run is
  a known phrase, or each of its unusual words is known;
- acronyms ("EKAB", "US") and codes ("CL-415", "UN1005", "M6.1");
- numbers, with their unit when one follows ("5 km", "six boats"): grounded when the same value
  is given with the same unit or bare, or a HAZMAT table confirms it;
- resources and forces named in lower case ("helicopters", "tanks"): the lexicon's Greek
  resource types are grounded by it; `watch` terms only by what the expert was given.
Pure: no I/O beyond the packaged tables. English and Greek alike (folded, stemmed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from crisis_mas.safety.figures import GLUED_UNIT, NUMBER, RANGE, numbers_in
from crisis_mas.safety.grounding_ref import Reference, figure_context
from crisis_mas.safety.lexicon import (
    TOKEN,
    Lexicon,
    in_dictionary,
    is_service_number,
    lexicon,
    stem,
)
from crisis_mas.safety.text import canonical_unit, fold

ClaimKind = Literal["name", "acronym", "code", "number", "resource", "term"]
FLAG = "ungrounded_claim"
SOURCES = ("given", "lexicon", "hazmat tables")

# Section labels of the answer format are not claims.
_LABEL = re.compile(
    r"^[ \t]*(?:rationale|key concerns|immediate actions|recommended)[ \t]*:", re.I | re.M
)
# Citation markers of the prompt's reference list ("[2]").
_CITE = re.compile(r"\[\d{1,2}\]")
# Joined into one name run when between two capitalised words ("Gulf of Corinth").
_CONNECTORS = {"of", "the", "for", "de", "του", "τησ", "των"}
# Capitalised words that are never names.
_ALWAYS_COMMON = {
    "i",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "ok",
    "am",
    "pm",
}


@dataclass(frozen=True, slots=True)
class Claim:
    """One checked item; `source` is where it was found, None when nowhere (ungrounded)."""

    text: str
    kind: ClaimKind
    start: int
    end: int
    source: str | None

    @property
    def grounded(self) -> bool:
        return self.source is not None

    def to_flag(self) -> dict:
        what = {
            "number": "figure",
            "resource": "resource",
            "code": "designation",
            "term": "term",
        }.get(self.kind, "name")
        return {
            "type": FLAG,
            "item": self.text,
            "kind": self.kind,
            "span": [self.start, self.end],
            "score": 0.5,
            "reason": f"{what} '{self.text}' is in neither the scenario, the retrieved passages, "
            "the roster nor the reference tables",
        }


def _norm(tok: str) -> str:
    t = fold(tok)
    return t[:-2] if t.endswith(("'s", "’s")) else t


def _masked(text: str) -> str:
    """`text` with the answer format's labels and citation markers blanked (offsets kept)."""
    blank = lambda m: " " * len(m.group())  # noqa: E731
    return _CITE.sub(blank, _LABEL.sub(blank, text))


def _sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t")
    return not before or before[-1] in ".!?;:\n-*•([\"'“"


def _is_acronym(tok: str) -> bool:
    core = tok[:-1] if len(tok) > 2 and tok.endswith("s") else tok
    letters = [c for c in core if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _is_code(tok: str) -> bool:
    return any(c.isdigit() for c in tok) and any(c.isalpha() for c in tok)


def _capitalised(tok: str) -> bool:
    return tok[:1].isupper()


def check(
    text: str,
    reference: Reference,
    context: dict[str, str] | None = None,
) -> list[Claim]:
    """Every claim of `text` with where it was found (`context`: HAZMAT tags such as
    `un_number`, so "the IDLH is 300 ppm" is read for the scenario's substance)."""
    lex = lexicon()
    work = _masked(text)
    tables = _hazmat_spans(work, context)
    claims: list[Claim] = []
    covered: list[tuple[int, int]] = []

    def add(kind: ClaimKind, s: int, e: int, source: str | None) -> None:
        claims.append(Claim(text[s:e], kind, s, e, source))
        covered.append((s, e))

    def in_tables(s: int, e: int) -> bool:
        return any(a <= s and e <= b for a, b in tables)

    toks = list(TOKEN.finditer(work))
    i = 0
    while i < len(toks):
        m = toks[i]
        tok = m.group()
        if _is_code(tok) and not NUMBER.fullmatch(tok) and not RANGE.fullmatch(tok):
            if not GLUED_UNIT.fullmatch(tok) or not canonical_unit(
                GLUED_UNIT.fullmatch(tok).group(2)  # type: ignore[union-attr]
            ):
                key = _norm(tok)
                flat = key.replace("-", "").replace(".", "")
                src = (
                    "given"
                    if reference.knows(key) or reference.has_token(flat)
                    else "lexicon"
                    if lex.knows(key) or lex.has_phrase([key])
                    else "hazmat tables"
                    if in_tables(m.start(), m.end())
                    else None
                )
                add("code", m.start(), m.end(), src)
            i += 1
            continue
        if not tok[:1].isalpha() or not _capitalised(tok):
            i += 1
            continue
        # A run of capitalised words (connectors allowed between two of them).
        j, run = i, [m]
        while j + 1 < len(toks):
            nxt = toks[j + 1]
            gap = work[toks[j].end() : nxt.start()]
            if gap not in (" ", "-"):
                break
            if _capitalised(nxt.group()) and nxt.group()[:1].isalpha():
                run.append(nxt)
                j += 1
                continue
            if (
                fold(nxt.group()) in _CONNECTORS
                and j + 2 < len(toks)
                and work[nxt.end() : toks[j + 2].start()] == " "
                and _capitalised(toks[j + 2].group())
            ):
                run += [nxt, toks[j + 2]]
                j += 2
                continue
            break
        i = j + 1
        if len(run) > 1 and len(run[-1].group()) == 1:  # "Level E", "Gate C": a designation
            s_, e_ = run[-2].start(), run[-1].end()
            words = [_norm(run[-2].group()), _norm(run[-1].group())]
            ok = reference.has_phrase(words) or lex.has_phrase(words)
            add(
                "code",
                s_,
                e_,
                ("given" if reference.has_phrase(words) else "lexicon") if ok else None,
            )
            run = run[:-2]
            if not run:
                continue
        if _sentence_start(work, run[0].start()) and _ordinary(run[0].group()):
            run = run[1:]  # sentence case: "Evacuate Limni" names "Limni"; "Deluged" nothing
            while run and fold(run[0].group()) in _CONNECTORS:
                run = run[1:]
        if (
            not run
            or not _capitalised(run[0].group())
            or (len(run) == 1 and len(run[0].group()) < 2)
        ):
            continue
        claim = _name_claim(run, work, reference, in_tables)
        if claim is not None:
            add(*claim)

    for value, unit, s, e in numbers_in(work):
        if any(a <= s and e <= b for a, b in covered):
            continue
        near = figure_context(work, s, e)
        src = (
            "given"
            if reference.has_number(value, unit, near)
            else "hazmat tables"
            if in_tables(s, e)
            else "lexicon"
            if is_service_number(work[s:e], near)
            else None
        )
        add("number", s, e, src)

    claims += _resource_claims(work, text, reference, covered)
    claims += _term_claims(toks, text, reference, covered)
    claims.sort(key=lambda c: c.start)
    return claims


def _name_claim(
    run: list[re.Match[str]], work: str, reference: Reference, in_tables: object
) -> tuple[ClaimKind, int, int, str | None] | None:
    """The claim a run of capitalised words makes, or None when it is ordinary vocabulary."""
    lex = lexicon()
    words = [_norm(m.group()) for m in run]
    s, e = run[0].start(), run[-1].end()
    acronym = len(run) == 1 and _is_acronym(run[0].group())
    if acronym:
        key = words[0][:-1] if run[0].group().endswith("s") and len(words[0]) > 2 else words[0]
        if len(key) >= 4 and lex.is_common(key):  # "URGENT", "NOW"
            return None
        words = [key]
    content = [w for w in words if w not in _CONNECTORS]
    unusual = [w for w in content if w not in _ALWAYS_COMMON and not lex.is_common(w)]
    if not acronym and not unusual:
        return None  # "Smoke", "Evacuate", "North Lake": ordinary words, not a name
    kind: ClaimKind = "acronym" if acronym else "name"
    if reference.has_phrase(words) or all(reference.knows(w) for w in (unusual or words)):
        return kind, s, e, "given"
    if lex.has_phrase(words) or all(lex.knows(w) for w in (unusual or words)):
        return kind, s, e, "lexicon"
    if in_tables(s, e):  # type: ignore[operator]
        return kind, s, e, "hazmat tables"
    return kind, s, e, None


def _ordinary(word: str) -> bool:
    """A sentence's first word capitalised only by sentence case: ordinary vocabulary, in our
    texts or in an English dictionary (not an acronym)."""
    w = _norm(word)
    return not _is_acronym(word) and (lexicon().is_common(w) or in_dictionary(w))


def _term_claims(
    toks: list[re.Match[str]], text: str, reference: Reference, covered: list[tuple[int, int]]
) -> list[Claim]:
    """Lower-case words nothing knows (no dictionary, our vocabulary, the request or the
    lexicon): invented terms ("the permaanians"), ungrounded by definition."""
    lex = lexicon()
    out = []
    for m in toks:
        tok = m.group()
        if not tok[:1].islower() or not tok.isascii() or any(c.isdigit() for c in tok):
            continue
        if any(a <= m.start() < b for a, b in covered):
            continue
        parts = [p for p in re.split(r"[-.'’]", _norm(tok)) if p]
        if parts and not all(
            len(p) < 4 or _known_word(p, reference, lex) for p in parts[:1] + parts[1:]
        ):
            out.append(Claim(text[m.start() : m.end()], "term", m.start(), m.end(), None))
    return out


def _known_word(w: str, reference: Reference, lex: Lexicon) -> bool:
    if lex.is_common(w) or in_dictionary(w) or reference.knows(w) or lex.knows(w):
        return True
    # A compound of two dictionary words ("restrooms", "firefighters").
    return any(
        in_dictionary(w[:k]) and (in_dictionary(w[k:]) or lex.is_common(w[k:]))
        for k in range(3, len(w) - 2)
    )


def _resource_claims(
    work: str, text: str, reference: Reference, covered: list[tuple[int, int]]
) -> list[Claim]:
    """Resources and forces named in lower case (lexicon resource types and watch terms)."""
    lex = lexicon()
    toks = list(TOKEN.finditer(work))
    stems = [stem(_norm(m.group())) for m in toks]
    out: list[Claim] = []
    taken: set[int] = set()
    for patterns, grounds in ((lex.watch, False), (lex.resources, True)):
        for pat in sorted(patterns, key=len, reverse=True):
            n = len(pat)
            for i in range(len(toks) - n + 1):
                if tuple(stems[i : i + n]) != pat or taken & set(range(i, i + n)):
                    continue
                s, e = toks[i].start(), toks[i + n - 1].end()
                if any(a <= s < b or a < e <= b for a, b in covered):
                    continue
                taken.update(range(i, i + n))
                words = [_norm(m.group()) for m in toks[i : i + n]]
                src = "given" if reference.has_phrase(words) else ("lexicon" if grounds else None)
                out.append(Claim(text[s:e], "resource", s, e, src))
    return out


def _hazmat_spans(text: str, context: dict[str, str] | None) -> list[tuple[int, int]]:
    """Spans the HAZMAT tables confirm: substance mentions and consistent figures."""
    from crisis_mas.safety.hazmat import validate_text
    from crisis_mas.safety.hazmat.mentions import find_mentions

    spans = [(m.start, m.end) for m in find_mentions(text)]
    for f in validate_text(text, context):
        if f.verdict == "consistent" and f.span is not None:
            spans.append((f.span[0], f.span[1]))
    return spans


def grounded_rate(claims: Iterable[Claim]) -> float | None:
    """Share of grounded claims; None when there are none."""
    cs = list(claims)
    return sum(c.grounded for c in cs) / len(cs) if cs else None


def ungrounded(claims: Iterable[Claim]) -> list[Claim]:
    return [c for c in claims if not c.grounded]


def format_corrections(claims: Iterable[Claim]) -> str:
    """The re-query's feedback: one line per ungrounded item."""
    seen: dict[str, Claim] = {}
    for c in claims:
        seen.setdefault(c.text.lower(), c)
    return "\n".join(
        f"- '{c.text}' is not in the scenario, the references or the reference tables: "
        "name only places, services, resources and figures given above."
        for c in seen.values()
    )
