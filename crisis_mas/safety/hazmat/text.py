"""Word normalisation for HAZMAT mention and claim extraction (English and Greek).

Folding (case, accents, final sigma) is `crisis_mas.safety.text.fold`, shared with the cache and
the guard, and keeps character offsets, so spans found on folded text point into the original.
`norm_word` also maps British spellings ("sulphur" = "sulfur") and reduces Greek words to a stem
so inflected forms ("της αμμωνίας", "του χλωρίου") match their dictionary form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crisis_mas.safety.text import fold, is_greek, word_spans

__all__ = ["Token", "fold", "greek_stem", "is_greek", "name_key", "norm_word", "sentences"]

# Greek inflectional endings, longest first; stripped once from words of 4+ letters.
_GREEK_SUFFIXES = (
    "ιου",
    "ιων",
    "ιασ",
    "ιεσ",
    "ιο",
    "ια",
    "ου",
    "οσ",
    "ησ",
    "ασ",
    "ων",
    "εσ",
    "α",
    "ο",
    "η",
    "ι",
    "ε",
    "υ",
)
_BRITISH = (("sulph", "sulf"), ("aluminium", "aluminum"), ("caesium", "cesium"))


def greek_stem(word: str) -> str:
    """Strip one inflectional ending from a folded Greek word ('αμμωνιας' -> 'αμμων')."""
    if len(word) < 4:
        return word
    for suf in _GREEK_SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 2:
            return word[: -len(suf)]
    return word


def norm_word(word: str) -> str:
    """Normalised form of one word for dictionary look-ups."""
    w = fold(word)
    if is_greek(w):
        return greek_stem(w)
    for gb, us in _BRITISH:
        w = w.replace(gb, us)
    return w


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    norm: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Word tokens (letters/digits runs) with their normalised form and offsets."""
    return [Token(m.group(), norm_word(m.group()), m.start(), m.end()) for m in word_spans(text)]


def name_key(name: str) -> tuple[str, ...]:
    """Look-up key of a substance name: its normalised words, parenthesised remarks dropped."""
    name = re.sub(r"\([^)]*\)", " ", name)
    return tuple(t.norm for t in tokenize(name))


_SENTENCE_END = re.compile(r"(?<=[.!?;·])\s+|\n+")


_ABBREV = re.compile(r"(?:\b(?:no|nr|approx|ca|e\.g|i\.e|etc|vs|fig|ref|st|dr|αρ|π\.χ)\.)$", re.I)


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of sentences; splits on ., !, ?, ;, Greek ano teleia and newlines,
    but not after abbreviations such as "no." ("guide no. 117")."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if text[m.start() - 1 : m.start()] == "." and _ABBREV.search(
            text[max(0, m.start() - 8) : m.start()]
        ):
            continue
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans
