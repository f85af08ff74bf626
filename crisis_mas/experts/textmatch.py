"""Accent- and case-free cue matching in English and Greek, with a negation check.

The doctrine catalogue recognises actions in alternatives' wording, and the doctrine rules read
facts from scenario text, by the same small regex cues. Text and cues are folded alike (lower
case, Greek accents and final sigma removed), so `εκκενωσ` matches «Εκκένωση» and «εκκενώσεις».
A cue preceded in its clause by a negation ("without spraying water onto the tank", «χωρίς
νερό») does not count.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

_NEGATION = re.compile(
    r"\b(?:without|no|not|never|nor|cannot|can't|unable to|avoid|avoiding|do not|don't"
    r"|instead of|rather than|χωρισ|μην|μη|οχι|δεν|αντι για)\b"
)
_CLAUSE_END = re.compile(r"[.;:!?\n]|\b(?:but|while|whereas|then|and then|αλλα|ενω)\b")
NEGATION_WINDOW = 40  # characters before a cue, within its clause, searched for a negation


def fold(text: str) -> str:
    """Lower case, no accents (Greek tonos/dialytika), final sigma as sigma, plain dashes."""
    t = unicodedata.normalize("NFD", text.lower())
    t = "".join(c for c in t if not unicodedata.combining(c))
    t = t.replace("ς", "σ").replace("–", "-").replace("—", "-").replace("−", "-")
    return re.sub(r"[ \t]+", " ", t)


@cache
def compile_cue(pattern: str) -> re.Pattern[str]:
    """A cue as a regex on folded text, anchored at the start of a word."""
    return re.compile(r"(?<![\w])(?:" + fold(pattern) + ")")


def negated(folded: str, start: int) -> bool:
    """Whether a negation precedes `start` within its clause (and within the window)."""
    window = folded[max(0, start - NEGATION_WINDOW) : start]
    ends = list(_CLAUSE_END.finditer(window))
    if ends:
        window = window[ends[-1].end() :]
    return _NEGATION.search(window) is not None


def find(folded: str, patterns: Iterable[str], negation: bool = True) -> list[re.Match[str]]:
    """Every (un-negated) match of any cue in already-folded text. A negation before the match
    in its clause, or inside a match that spans words ("water ... without spraying water onto
    the tank"), cancels it."""
    out = []
    for p in patterns:
        states_negative = _NEGATION.search(fold(p)) is not None  # "does not know", "no distress"
        for m in compile_cue(p).finditer(folded):
            inside = not states_negative and _NEGATION.search(m.group(0)) is not None
            if negation and (negated(folded, m.start()) or inside):
                continue
            out.append(m)
    return out


def any_cue(folded: str, patterns: Iterable[str], negation: bool = True) -> bool:
    return bool(find(folded, patterns, negation))
