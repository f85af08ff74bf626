"""Direct prompt-injection and jailbreak detection by rules (English and Greek).

Rules describe attack *techniques*, not known attack strings: overriding earlier instructions,
claiming a new identity or an unrestricted mode, asking for the hidden prompt, forging chat-role
markers, demanding a fixed output, and hiding any of these in base64/hex or leetspeak. Evidence
from several rules is combined (noisy-OR), so one weak cue never blocks on its own.
"""

from __future__ import annotations

import re

from crisis_mas.safety.guard.injection_rules import COMBOS, FAMILY_RULE, NEEDS, RULES, Rule
from crisis_mas.safety.guard.normalize import decoded_payloads, deobfuscate
from crisis_mas.safety.guard.types import combine, make_flag


def _scan(text: str, rules: tuple[Rule, ...]) -> dict[str, list[Rule]]:
    hits: dict[str, list[Rule]] = {}
    for rule in rules:
        needs = NEEDS.get(rule.name)
        if needs is not None and not any(w in text for w in needs):
            continue
        if rule.pattern.search(text):
            hits.setdefault(rule.type, []).append(rule)
    return hits


def detect(text: str, use_family_names: bool = True, max_chars: int = 40_000) -> list[dict]:
    """Flags for direct injection, jailbreak, prompt exfiltration and encoded payloads."""
    if not text:
        return []
    text = text[:max_chars]
    rules = RULES + ((FAMILY_RULE,) if use_family_names else ())
    reading = deobfuscate(text)
    hits = _scan(reading, rules)
    names = {r.name for rs in hits.values() for r in rs}
    for need, type_, score, reason in COMBOS:
        if need <= names:
            hits.setdefault(type_, []).append(
                Rule("+".join(sorted(need)), type_, score, re.compile(""), reason)
            )
    flags = []
    for type_, rs in hits.items():
        flags.append(
            make_flag(
                type_,
                combine([r.score for r in rs]),
                "; ".join(dict.fromkeys(r.reason for r in rs)),
                rules=[r.name for r in rs],
            )
        )
    # Injection hidden in an encoded blob is stronger evidence than the same text in clear.
    for payload in decoded_payloads(text):
        inner = _scan(deobfuscate(payload), rules)
        if inner:
            score = combine([r.score for rs in inner.values() for r in rs] + [0.5])
            flags.append(
                make_flag(
                    "encoded_payload",
                    score,
                    "an encoded payload hides instructions",
                    rules=[r.name for rs in inner.values() for r in rs],
                )
            )
    # Several families together (e.g. a persona plus "never refuse") reinforce each other.
    if len(flags) > 1:
        top = combine([f["score"] for f in flags])
        for f in flags:
            f["score"] = round(
                max(f["score"], min(top, 0.99)) if f["score"] >= 0.4 else f["score"], 3
            )
    return flags
