"""Figures in text, for the grounding check: every number written in digits ("1,200", "6-8",
"3km") or in words (English and Greek, "six", "έξι"), with the unit that follows it when there
is one ("5 km", "300 ppm", "6-7 Beaufort"), read through `safety.text`'s one unit table."""

from __future__ import annotations

import re

from crisis_mas.safety.lexicon import TOKEN
from crisis_mas.safety.text import canonical_unit, fold, parse_number

NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
TIME = re.compile(r"\d{1,2}:\d{2}")
RANGE = re.compile(r"\d+(?:[.,]\d+)?(?:-\d+(?:[.,]\d+)?)+")
GLUED_UNIT = re.compile(r"(\d+(?:[.,]\d+)?)([^\W\d_][^\W_/]*)")
NUMBER_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "thousand": 1000,
    "δυο": 2,
    "τρια": 3,
    "τρεισ": 3,
    "τεσσερα": 4,
    "τεσσερισ": 4,
    "πεντε": 5,
    "εξι": 6,
    "επτα": 7,
    "εφτα": 7,
    "οκτω": 8,
    "οχτω": 8,
    "εννεα": 9,
    "εννια": 9,
    "δεκα": 10,
    "εικοσι": 20,
    "τριαντα": 30,
    "σαραντα": 40,
    "πενηντα": 50,
    "εκατο": 100,
    "χιλια": 1000,
}


def numbers_in(text: str) -> list[tuple[float, str | None, int, int]]:
    """(value, canonical unit or None, start, end) of every figure in `text`, digits or words."""
    out: list[tuple[float, str | None, int, int]] = []
    for m in TOKEN.finditer(text):
        tok, start = m.group(), m.start()
        if TIME.fullmatch(tok):
            continue
        if NUMBER.fullmatch(tok) or RANGE.fullmatch(tok):
            for n in NUMBER.finditer(tok):
                out.append((_value(n.group()), None, start + n.start(), start + n.end()))
            continue
        g = GLUED_UNIT.fullmatch(tok)
        if g and canonical_unit(g.group(2)):
            out.append((_value(g.group(1)), canonical_unit(g.group(2)), m.start(), m.end()))
            continue
        word = fold(tok)
        if word in NUMBER_WORDS:
            out.append((float(NUMBER_WORDS[word]), None, m.start(), m.end()))
    # A unit right after a figure ("5 km", "300 ppm", "6-7 Beaufort") belongs to it.
    for i, (value, unit, s, e) in enumerate(out):
        if unit is None:
            u = _unit_after(text, e)
            if u:
                out[i] = (value, u, s, e)
    return out


def _value(s: str) -> float:
    try:
        return round(parse_number(s), 6)
    except ValueError:
        return float("nan")


def _unit_after(text: str, end: int) -> str | None:
    m = re.match(
        r"[ \t]?(?:-\d+(?:[.,]\d+)?[ \t]?)?(°?[^\W\d_][^\W\d_/]*(?:/[^\W\d_]+\d?)?)", text[end:]
    )
    if m is None:
        m = re.match(r"[ \t]?(%)", text[end:])
    return canonical_unit(m.group(1)) if m else None
