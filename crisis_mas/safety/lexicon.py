"""The grounding check's static word tables: the Greek place/service/resource lexicon (Greek and
Latin script, sources named in `data/lexicon_gr.yaml`) and the ordinary-vocabulary list
(`data/common_words.txt`, built by `scripts/build_grounding_vocab.py`).

Words are compared folded (`safety.text.fold`: no case, accents or final sigma) and stemmed
(Snowball English or Greek), so "Λίμνης" meets "Λίμνη" and "tankers" meets "tanker".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import snowballstemmer
import yaml

from crisis_mas.safety.text import fold, is_greek

DATA = Path(__file__).resolve().parent / "data"
LEXICON_FILE = DATA / "lexicon_gr.yaml"
COMMON_FILE = DATA / "common_words.txt"

# Letters/digits runs, joined by a hyphen, dot, comma, colon or apostrophe between two of them
# ("CL-415", "ro-ro", "1,200", "16:40", "ΕΛ.ΑΣ", "Limni's").
TOKEN = re.compile(r"[^\W_]+(?:[-.,:'’][^\W_]+)*")
_EN = snowballstemmer.stemmer("english")
_EL = snowballstemmer.stemmer("greek")
_GREEK_VOWELS = "αεηιουω"


@lru_cache(maxsize=65536)
def stem(folded: str) -> str:
    """The stem of one folded word: Snowball Greek (trailing vowels dropped) or English."""
    if is_greek(folded):
        s = fold(_EL.stemWord(folded.upper()).lower())
        while len(s) > 3 and s[-1] in _GREEK_VOWELS:
            s = s[:-1]
        return s
    return _EN.stemWord(folded)


def tokens(text: str) -> list[str]:
    """Folded tokens of `text`, possessive 's dropped ("Limni's" -> "limni")."""
    return [_norm(m.group()) for m in TOKEN.finditer(text)]


def _norm(tok: str) -> str:
    t = fold(tok)
    if t.endswith(("'s", "’s")):
        t = t[:-2]
    return t


def phrase_key(words: list[str]) -> str:
    """Stems joined by single spaces, padded: the form phrases are looked up in."""
    return " " + " ".join(stem(w) for w in words) + " "


@cache
def _dictionary() -> frozenset[str]:
    """Lower-case entries of Webster's 2nd International word list (public domain, via the
    `english-words` package): ordinary English, whatever our own texts happen to use."""
    from english_words import get_english_words_set

    return frozenset(w for w in get_english_words_set(["web2"]) if w[:1].islower())


def in_dictionary(folded: str) -> bool:
    """Whether an English dictionary knows the word, or the word less a regular inflection
    ("neighbors", "deluged", "permitting", "cities")."""
    words = _dictionary()
    w = re.split(r"['’]", folded)[0]
    if w in words:
        return True
    forms = []
    for suffix, repl in (
        ("iest", "y"),
        ("ied", "y"),
        ("ier", "y"),
        ("est", ""),
        ("est", "e"),
        ("ies", "y"),
        ("es", ""),
        ("s", ""),
        ("ed", ""),
        ("ed", "e"),
        ("ing", ""),
        ("ing", "e"),
        ("ly", ""),
        ("er", ""),
        ("ers", ""),
    ):
        if w.endswith(suffix) and len(w) > len(suffix) + 2:
            base = w[: -len(suffix)] + repl
            forms.append(base)
            if len(base) > 3 and base[-1] == base[-2]:  # "permitting" -> "permit"
                forms.append(base[:-1])
    return any(f in words for f in forms)


@dataclass(frozen=True)
class Lexicon:
    """Folded names per category, their tokens and stemmed phrases, and the ordinary words."""

    names: frozenset[str]  # every lexicon phrase, folded, tokens joined by single spaces
    name_tokens: frozenset[str]  # every token of those phrases
    name_stems: frozenset[str]
    stem_phrases: frozenset[str]  # phrase_key() of every name (grounds a phrase)
    resources: tuple[tuple[str, ...], ...]  # resource phrases (stems) that count as claims
    watch: tuple[tuple[str, ...], ...]  # claims grounded only by what the expert was given
    common: frozenset[str]  # ordinary words, folded
    common_stems: frozenset[str]
    version: int

    def is_common(self, folded: str) -> bool:
        if folded in self.common or stem(folded) in self.common_stems:
            return True
        # "reconfirm", "unblock", "pre-position": an ordinary word behind a common prefix.
        for prefix in ("re", "un", "pre", "non"):
            rest = folded.removeprefix(prefix).lstrip("-")
            if (
                rest != folded
                and len(rest) > 3
                and (rest in self.common or stem(rest) in self.common_stems)
            ):
                return True
        return False

    def knows(self, folded: str) -> bool:
        return folded in self.name_tokens or stem(folded) in self.name_stems

    def has_phrase(self, words: list[str]) -> bool:
        return " ".join(words) in self.names or phrase_key(words) in self.stem_phrases


def _entries(section: dict | list) -> list[list[str]]:
    rows = section.get("entries", []) if isinstance(section, dict) else section
    return [[str(n) for n in row] for row in rows]


@cache
def lexicon() -> Lexicon:
    """The packaged lexicon (loaded once per process)."""
    data = yaml.safe_load(LEXICON_FILE.read_text(encoding="utf-8"))
    grounding = [
        n
        for key in ("places", "agencies", "resources", "doctrine")
        for row in _entries(data[key])
        for n in row
    ]
    watch = [n for row in _entries(data["watch"]) for n in row]
    resources = [n for row in _entries(data["resources"]) for n in row]
    toks = [tokens(n) for n in grounding]
    common = frozenset(
        w for w in COMMON_FILE.read_text(encoding="utf-8").split() if w and not w.startswith("#")
    )
    return Lexicon(
        names=frozenset(" ".join(t) for t in toks if t),
        name_tokens=frozenset(w for t in toks for w in t),
        name_stems=frozenset(stem(w) for t in toks for w in t),
        stem_phrases=frozenset(phrase_key(t) for t in toks if t),
        resources=tuple(tuple(stem(w) for w in tokens(n)) for n in resources if tokens(n)),
        watch=tuple(tuple(stem(w) for w in tokens(n)) for n in watch if tokens(n)),
        common=common,
        common_stems=frozenset(stem(w) for w in common),
        version=int(data.get("version", 1)),
    )


# Words that make a figure a service's phone number ("warn residents by 112", "112 alerts").
_SERVICE_WORDS = {
    stem(w)
    for w in [
        "alert",
        "alerts",
        "message",
        "messages",
        "call",
        "calls",
        "warn",
        "warning",
        "sms",
        "broadcast",
        "notify",
        "notification",
        "operator",
        "operators",
        "centre",
        "center",
        "line",
        "number",
        "service",
        "system",
        "dispatch",
    ]
}


def is_service_number(figure: str, near: set[str]) -> bool:
    """An emergency number the lexicon lists (112), used as one: next to a word for a call,
    an alert or a service, not as a count ("112 parks")."""
    return lexicon().knows(figure) and bool(near & _SERVICE_WORDS)
