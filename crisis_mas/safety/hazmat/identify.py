"""Resolve a substance name, synonym, formula, Greek name, CAS or UN number to a `Target`, and
look up everything the reference tables say about it.

Apart from `reference` (the tables) because a phrase that is not a known name falls back to the
mention finder, which itself reads the tables: reference <- mentions <- identify, no cycle.
"""

from __future__ import annotations

from crisis_mas.safety.hazmat.mentions import find_mentions
from crisis_mas.safety.hazmat.reference import (
    CAS_PATTERN,
    SubstanceFacts,
    Target,
    norm_un,
    registry,
)
from crisis_mas.safety.hazmat.text import name_key


def resolve(name_or_un: str) -> Target | None:
    """A substance name, synonym, formula, Greek name, CAS number or UN number -> Target."""
    reg = registry()
    text = name_or_un.strip()
    if not text:
        return None
    if (un := norm_un(text)) is not None:
        return reg.target_for_un(un)
    if (m := CAS_PATTERN.match(text)) and m.group(1) in reg.cas:
        return reg.target_for_sid(reg.cas[m.group(1)])
    if text in reg.exact:
        return reg.exact[text]
    key = name_key(text)
    if key in reg.names:
        return reg.names[key]
    # Fall back to the first mention inside a longer phrase ("Anhydrous Ammonia (NH3)").
    found = find_mentions(text)
    return found[0].target if found else None


def lookup(name_or_un: str) -> SubstanceFacts | None:
    """All known facts about a substance or UN number; None when nothing matches."""
    target = resolve(name_or_un)
    return registry().facts(target) if target else None
