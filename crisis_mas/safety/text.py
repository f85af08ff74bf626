"""One text normalisation for every check that compares words, in English and Greek.

The cache's fact signature, the HAZMAT mention and claim finders, the guard and the BM25 index
all read text through here, so "ΑΜΜΩΝΊΑ", "αμμωνία" and "αμμωνια" are the same word everywhere:
`fold` lower-cases (casefold), strips accents and diacritics and writes final sigma as sigma,
character for character (offsets found on the folded text point into the original). `words`
tokenises Greek and Latin alike; `UNITS` is the one table of unit spellings (English and Greek,
inflected forms included) and `parse_number` the one reading of "1,200" / "0,2" / "1.200".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

_GREEK = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")
# Letters and digits of any script (Greek and Latin words alike), never the underscore.
WORD = re.compile(r"[^\W_]+")
# Zero-width and other invisible characters used to split words past keyword filters.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u180e]")


@lru_cache(maxsize=8192)
def fold_char(ch: str) -> str:
    """One character folded: no accents or diacritics, casefolded, final sigma -> sigma.

    Compatibility forms fold too ("³" -> "3", the micro sign -> "μ"); a character whose fold
    would be longer than one character ("ß", ligatures) is only lower-cased, so lengths hold."""
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    base = base.casefold()
    if base == "ς":
        base = "σ"
    return base if len(base) == 1 else ch.lower()[:1] or ch


def fold(text: str) -> str:
    """`text` with every character folded (`fold_char`); same length, so offsets hold."""
    return "".join(fold_char(c) for c in text)


def clean_unicode(text: str) -> str:
    """NFKC with invisible characters removed: what a person sees, as one canonical string."""
    return unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))


def is_greek(text: str) -> bool:
    """Whether `text` contains a Greek letter."""
    return bool(_GREEK.search(text))


def word_spans(text: str) -> Iterator[re.Match[str]]:
    """Word matches (runs of letters/digits, Greek or Latin) with their offsets in `text`."""
    return WORD.finditer(text)


def words(text: str) -> list[str]:
    """Folded word tokens of `text` ("Διαρροή ΧΛΩΡΊΟΥ!" -> ["διαρροη", "χλωριου"])."""
    return WORD.findall(fold(text))


# Unit spellings (folded: lower case, no accents, final sigma as sigma) -> canonical unit.
# English and Greek, with the Greek inflected forms responders write ("μέτρων", "χιλιομέτρων").
_UNIT_SPELLINGS: dict[str, str] = {
    "m": "m meter meters metre metres μ μετρα μετρων μετρο",
    "km": "km kilometer kilometers kilometre kilometres χλμ χιλιομετρα χιλιομετρων χιλιομετρο",
    "ft": "ft feet foot ποδια ποδιων",
    "mi": "mi mile miles μιλια μιλιων μιλι",
    "ppm": "ppm",
    "ppb": "ppb",
    "mg/m3": "mg/m3",
    "mg/l": "mg/l",
    "ug/m3": "ug/m3 μg/m3",
    "%": "% percent",
    "kg": "kg kilograms",
    "g": "g grams",
    "mg": "mg",
    "t": "t tonne tonnes ton tons τονοι τονων",
    "l": "l liter liters litre litres λιτρα",
    "m3": "m3",
    "m2": "m2",
    "ha": "ha hectares",
    "stremma": "στρεμματα",
    "c": "°c celsius",
    "f": "°f fahrenheit",
    "bar": "bar",
    "psi": "psi",
    "kpa": "kpa",
    "km/h": "km/h kmh",
    "mph": "mph",
    "kn": "knots kt",
    "bft": "beaufort bft",
    "mbar": "mbar",
    "min": "min mins minute minutes λεπτα",
    "h": "h hr hrs hour hours ωρεσ ωρα",
    "s": "s sec seconds",
    "d": "day days",
    "wk": "week weeks",
    "mg/kg": "mg/kg",
    "ml": "ml",
    "mmhg": "mmhg",
    "bpm": "bpm",
    "richter": "richter",
    "magnitude": "magnitude",
}
# Multi-word spellings (kept apart because the table above splits on spaces).
_UNIT_PHRASES: dict[str, str] = {
    "parts per million": "ppm",
    "parts per billion": "ppb",
    "per cent": "%",
    "τοισ εκατο": "%",
}
UNITS: dict[str, str] = {
    **{fold(s): canon for canon, spellings in _UNIT_SPELLINGS.items() for s in spellings.split()},
    **{fold(s): canon for s, canon in _UNIT_PHRASES.items()},
}


def canonical_unit(spelling: str) -> str | None:
    """The canonical unit of a spelling ("Μέτρων" -> "m", "mg / m³" -> "mg/m3"), else None."""
    key = re.sub(r"\s*/\s*", "/", re.sub(r"\s+", " ", fold(spelling).strip()))
    return UNITS.get(key, UNITS.get(key.rstrip(".")))


def parse_number(s: str, greek: bool = False) -> float:
    """'1,200' -> 1200, '0,2' -> 0.2, '1.200' -> 1200 in Greek text (else 1.2)."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", s) and not s.startswith("0,"):
        return float(s.replace(",", ""))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", s) and greek and not s.startswith("0."):
        return float(s.replace(".", ""))
    return float(s.replace(",", "."))
