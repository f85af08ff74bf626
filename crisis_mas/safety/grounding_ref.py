"""What an answer may cite, indexed for the grounding check (`safety.grounding`): folded
tokens, their stems, stemmed text for phrase look-ups, figures (bare and with their units)
and clock times."""

from __future__ import annotations

import re
from collections.abc import Iterable

from crisis_mas.safety.figures import TIME, numbers_in
from crisis_mas.safety.lexicon import TOKEN, phrase_key, stem
from crisis_mas.safety.text import fold


def _norm(tok: str) -> str:
    t = fold(tok)
    return t[:-2] if t.endswith(("'s", "’s")) else t


# Words that say nothing about what a figure counts ("the 3", "of 650", "within 2").
_FUNCTION_WORDS = (
    "a an the of to in on at for and or with by from up than over under about within per all "
    "only least most more some each every is are was were be been has have had no not any its "
    "their this that these those into onto near after before until since up to as"
)
_FUNCTION = set(_FUNCTION_WORDS.split())
CONTEXT = 3  # content words either side of a figure that say what it counts


def figure_context(text: str, start: int, end: int, width: int = CONTEXT) -> set[str]:
    """Stems of the content words next to the figure at text[start:end] ("31 fire engines" ->
    {"fire", "engin"}), at most `width` each side, within the same line."""
    window = 40 * width  # enough characters for `width` words, however long the line
    line_start = max(text.rfind("\n", max(0, start - window), start) + 1, start - window)
    line_end = text.find("\n", end, end + window)
    line_end = min(len(text), end + window) if line_end < 0 else line_end
    before = [_norm(m.group()) for m in TOKEN.finditer(text[line_start:start])]
    after = [_norm(m.group()) for m in TOKEN.finditer(text[end:line_end])]

    def content(words: list[str]) -> list[str]:
        return [w for w in words if w not in _FUNCTION and not any(c.isdigit() for c in w)]

    return {stem(w) for w in content(before)[-width:] + content(after)[:width]}


class Reference:
    """What an answer may cite, indexed: folded tokens, their stems, stemmed text for phrase
    look-ups, figures (with their units and the words next to them) and clock times. A `base`
    (the roster, shared by every request) is consulted, never copied."""

    def __init__(self, texts: Iterable[str] = (), base: Reference | None = None):
        self.base = base
        self.tokens: set[str] = set()
        self.stems: set[str] = set()
        self.phrases: list[str] = []
        self.bare: set[float] = set()
        self.with_unit: set[tuple[float, str]] = set()
        self.times: set[str] = set()
        self.contexts: dict[float, set[str]] = {}
        self._joined: str | None = None
        for text in texts:
            self.add(text)

    def add(self, text: str) -> None:
        folded = [_norm(m.group()) for m in TOKEN.finditer(text)]
        for t in folded:
            self.tokens.add(t)
            self.stems.add(stem(t))
            if "-" in t or "." in t:
                self.tokens.add(t.replace("-", "").replace(".", ""))
                for part in re.split(r"[-.]", t):
                    self.tokens.add(part)
                    self.stems.add(stem(part))
        self.phrases.append(" ".join(stem(t) for t in folded))
        for value, unit, start, end in numbers_in(text):
            self.contexts.setdefault(value, set()).update(figure_context(text, start, end))
            if unit is None:
                self.bare.add(value)
            else:
                self.with_unit.add((value, unit))
        self.times.update(TIME.findall(text))
        self._joined = None

    def has_phrase(self, words: list[str]) -> bool:
        if self._joined is None:
            self._joined = " " + " \n ".join(self.phrases) + " "
        key = phrase_key(words)
        return key in self._joined or (self.base is not None and self.base.has_phrase(words))

    def has_token(self, folded: str) -> bool:
        return folded in self.tokens or (self.base is not None and self.base.has_token(folded))

    def knows(self, folded: str) -> bool:
        if folded in self.tokens or stem(folded) in self.stems:
            return True
        return self.base is not None and self.base.knows(folded)

    def has_number(self, value: float, unit: str | None, context: set[str] | None = None) -> bool:
        """Whether the figure is given: with the same unit, or (unit-less) next to a word it is
        given next to ("two ferries" by "Only 2 ferries", not by "2 hours"). `context` None
        skips the word check (the value alone)."""
        if self._has_number(value, unit, context):
            return True
        return self.base is not None and self.base.has_number(value, unit, context)

    def _has_number(self, value: float, unit: str | None, context: set[str] | None) -> bool:
        if unit is not None and (value, unit) in self.with_unit:
            return True
        if value not in self.contexts or (unit is not None and value not in self.bare):
            return False
        return context is None or not context or bool(context & self.contexts[value])
