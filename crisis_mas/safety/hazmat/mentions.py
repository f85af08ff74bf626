"""Find chemical mentions in free text: names, synonyms, formulas, Greek names, UN numbers.

Names are matched on normalised word n-grams (longest first) against a dictionary, which stays
fast with thousands of names; formulas and acronyms (NH3, Cl2, MEK) are matched case-sensitively
so that ordinary words ("co", "age") are not mistaken for chemicals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crisis_mas.safety.hazmat.reference import Target, registry
from crisis_mas.safety.hazmat.text import tokenize

# "UN1005", "UN 1005", "UN-1005", "UN No. 1005", "UN number 1005", "αριθμός ΟΗΕ 1005".
_UN_MENTION = re.compile(
    r"\b(?:UN|NA|ΟΗΕ)\s*(?:number|no\.?|nr\.?|id|#|αριθμ[οό]ς)?\s*[-:#]?\s*(\d{4})\b",
    re.IGNORECASE,
)
_EXACT_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9()]*[A-Za-z0-9)]|[A-Z]")


@dataclass(frozen=True, slots=True)
class Mention:
    target: Target
    start: int
    end: int
    surface: str
    kind: str  # "name" | "formula" | "un"


def find_mentions(text: str) -> list[Mention]:
    """All chemical mentions, in text order; overlapping matches keep the longest."""
    reg = registry()
    found: list[Mention] = []
    for m in _UN_MENTION.finditer(text):
        t = reg.target_for_un(m.group(1))
        if t is not None:
            found.append(Mention(t, m.start(), m.end(), m.group(), "un"))
    for m in _EXACT_TOKEN.finditer(text):
        word = m.group()
        t = reg.exact.get(word)
        if t is None and word.endswith(")") and "(" not in word:
            word = word.rstrip(")")
            t = reg.exact.get(word)
        if t is not None:
            found.append(Mention(t, m.start(), m.start() + len(word), word, "formula"))
    toks = tokenize(text)
    i, n, longest = 0, len(toks), reg.max_name_len
    while i < n:
        for size in range(min(longest, n - i), 0, -1):
            key = tuple(tok.norm for tok in toks[i : i + size])
            t = reg.names.get(key)
            if t is not None:
                s, e = toks[i].start, toks[i + size - 1].end
                if _glued(text, s, e):
                    continue  # "ethane" inside "1,2-di-(dimethylamino)ethane" is not ethane
                found.append(Mention(t, s, e, text[s:e], "name"))
                i += size
                break
        else:
            i += 1
    found.sort(key=lambda x: (x.start, -(x.end - x.start)))
    out: list[Mention] = []
    for mention in found:
        if out and mention.start < out[-1].end:
            continue
        # "Ammonia (NH3)", "Tetraethyl lead (as Pb)": a bracketed formula restates the name.
        if out and mention.kind == "formula" and _bracketed_after(text, out[-1], mention):
            continue
        out.append(mention)
    return out


def _glued(text: str, start: int, end: int) -> bool:
    """True when a name is only a fragment of a longer chemical name (joined by - ( ) or digits)."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before in "-)" or after in "-(":
        return True
    if before == "(" and after == ")" and start > 1 and text[start - 2].isalnum():
        return True  # "...-(dimethylamino)..."
    return before.isdigit() and start > 1 and text[start - 2] in ",-"


def _bracketed_after(text: str, prev: Mention, cur: Mention) -> bool:
    between = text[prev.end : cur.start]
    return re.fullmatch(r"\s*\((?:\s*as\s+)?\s*", between) is not None
