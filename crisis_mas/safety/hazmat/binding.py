"""Which substance a claim is about: a mention in its sentence, one just after it, the last one
before it, or the context's default (the scenario's UN number)."""

from __future__ import annotations

import re

from crisis_mas.safety.hazmat.claims import Claim
from crisis_mas.safety.hazmat.identify import resolve
from crisis_mas.safety.hazmat.mentions import Mention
from crisis_mas.safety.hazmat.reference import Target

_FOLLOWING_LINK = re.compile(r"^\s*(?:\(|for|of|για|της|του|των|in)?\s*(?:the\s+)?$", re.I)


def bind_target(
    claim: Claim, mentions: list[Mention], default: Target | None, text: str
) -> Target | None:
    """The substance a claim is about: a mention in its sentence (preceding first, or one right
    after it: '300 ppm for ammonia'), else the last one before the sentence, else the context."""
    s0, s1 = claim.sentence
    inside = [m for m in mentions if s0 <= m.start < s1]
    after = [m for m in inside if m.start >= claim.end]
    if (
        after
        and after[0].start - claim.end <= 20
        and _FOLLOWING_LINK.match(text[claim.end : after[0].start])
    ):
        return _prefer_un(after[0], inside, text)
    before = [m for m in inside if m.end <= claim.start]
    described = _described_un(before, claim, text)
    if described is not None:
        return described
    if before:
        return _prefer_un(before[-1], inside, text)
    if after:
        return _prefer_un(after[0], inside, text)
    earlier = [m for m in mentions if m.end <= s0]
    if earlier:
        return earlier[-1].target
    return default


def _described_un(before: list[Mention], claim: Claim, text: str) -> Target | None:
    """'UN1041 (Ethylene oxide and carbon dioxide mixture): guide 115' is about UN1041, not
    about the names inside its bracketed description."""
    uns = [m for m in before if m.kind == "un"]
    if not uns:
        return None
    un = uns[-1]
    gap = text[un.end : claim.start]
    opening = re.match(r"\s*\(", gap)
    if not opening:
        return None
    depth = 0
    for i, ch in enumerate(gap[opening.end() - 1 :], start=opening.end() - 1):
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            close = un.end + i
            later = [m for m in before if m.start > close]
            return un.target if not later else None
    return None


def _prefer_un(m: Mention, inside: list[Mention], text: str = "") -> Target:
    """A name mention plus a UN number of the same substance in the sentence, or a UN number
    right beside it ("UN1549 (Antimony compound...)", "Chlorine (UN1017)"): use the UN."""
    if m.kind == "un":
        return m.target
    for other in inside:
        if other.kind != "un":
            continue
        same = other.target.sid == m.target.sid is not None or set(other.target.uns) & set(
            m.target.uns
        )
        gap = text[other.end : m.start] if other.end <= m.start else text[m.end : other.start]
        beside = bool(text) and re.fullmatch(r"[\s(,:-]{0,4}", gap) is not None
        if same or beside or (not m.target.uns and other.end <= m.start):
            return other.target
    return m.target


# ---- verdicts ------------------------------------------------------------------------------
def default_target(context: dict | None) -> Target | None:
    """The substance a text is about when it names none: from request tags or scenario facts."""
    if not context:
        return None
    for key in ("un_number", "chemical", "substance"):
        if context.get(key) and (t := resolve(str(context[key]))):
            return t
    for word in str(context.get("hazards", "")).replace(";", ",").split(","):
        word = word.strip().replace("_", " ")
        if word and (t := resolve(word)):
            return t
    return None
