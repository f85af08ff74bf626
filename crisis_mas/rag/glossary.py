"""Cross-lingual query expansion from a bilingual (Greek = English) domain glossary.

BM25 only matches words a passage contains, so a Greek question cannot find an English passage
(and the other way round) by keywords alone. `expand(query)` appends the other language's terms
for every glossary entry the query mentions: "διαρροή χλωρίου" gains "leak spill release
chlorine". Entries come from our glossary (data/glossary_el_en.txt) plus the substance names of
the HAZMAT synonym table (English names and formulas = Greek names). Matching is on BM25 stems,
so inflected and unaccented forms match too ("διαρροής", "ΔΙΑΡΡΟΗ").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from crisis_mas.rag.lexical import tokenize
from crisis_mas.safety.hazmat.reference import load_table
from crisis_mas.safety.text import is_greek

GLOSSARY_FILE = Path(__file__).resolve().parent / "data" / "glossary_el_en.txt"


@dataclass(frozen=True)
class Entry:
    """One concept: its Greek and English forms, each also as a tuple of BM25 stems."""

    greek: tuple[str, ...]
    english: tuple[str, ...]
    greek_keys: tuple[tuple[str, ...], ...]
    english_keys: tuple[tuple[str, ...], ...]


def _entry(greek: list[str], english: list[str]) -> Entry | None:
    greek = [g.strip() for g in greek if g.strip()]
    english = [e.strip() for e in english if e.strip()]
    gk = tuple(k for k in (tuple(tokenize(g)) for g in greek) if k)
    ek = tuple(k for k in (tuple(tokenize(e)) for e in english) if k)
    if not gk or not ek:
        return None
    return Entry(tuple(greek), tuple(english), gk, ek)


def parse(text: str) -> list[Entry]:
    """`greek|forms = english|forms` lines; `#` starts a comment line."""
    out: list[Entry] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        left, sep, right = line.partition("=")
        if not sep:
            raise ValueError(f"{GLOSSARY_FILE.name}:{lineno}: expected 'greek = english'")
        entry = _entry(left.split("|"), right.split("|"))
        if entry is not None:
            out.append(entry)
    return out


def _substance_entries() -> list[Entry]:
    """English names and formulas = Greek names, from the HAZMAT synonym table."""
    out: list[Entry] = []
    for sub in load_table("synonyms")["entries"].values():
        greek = [g for g in sub.get("el", []) if is_greek(g)]
        english = [*sub.get("names", []), *sub.get("formulas", [])]
        if greek and english and (entry := _entry(greek, english)) is not None:
            out.append(entry)
    return out


@cache
def entries() -> tuple[Entry, ...]:
    """Every glossary entry (ours first, then the substances), loaded once."""
    return (*parse(GLOSSARY_FILE.read_text(encoding="utf-8")), *_substance_entries())


def _mentions(keys: tuple[tuple[str, ...], ...], stems: set[str]) -> bool:
    return any(all(s in stems for s in key) for key in keys)


@cache
def _by_stem() -> dict[str, tuple[int, ...]]:
    """Stem -> positions of the entries one of whose forms starts with it (a query only needs
    to look at entries sharing a stem with it)."""
    index: dict[str, list[int]] = {}
    for i, e in enumerate(entries()):
        for key in (*e.greek_keys, *e.english_keys):
            bucket = index.setdefault(key[0], [])
            if not bucket or bucket[-1] != i:
                bucket.append(i)
    return {k: tuple(v) for k, v in index.items()}


def translations(query: str) -> list[str]:
    """The other-language forms of every entry `query` mentions, without repeats."""
    stems = set(tokenize(query))
    if not stems:
        return []
    table, index = entries(), _by_stem()
    out: list[str] = []
    for i in sorted({i for s in stems for i in index.get(s, ())}):
        e = table[i]
        if _mentions(e.greek_keys, stems):
            out.extend(t for t in e.english if t not in out)
        if _mentions(e.english_keys, stems):
            out.extend(t for t in e.greek if t not in out)
    return out


def expand(query: str) -> str:
    """`query` followed by the other-language terms of the entries it mentions."""
    extra = translations(query)
    return f"{query}\n{' '.join(extra)}" if extra else query
