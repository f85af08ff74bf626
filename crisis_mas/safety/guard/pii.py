"""PII detection and redaction, with the Greek identifiers the pipeline meets most.

Covers e-mail addresses, phone numbers (Greek +30 / 69x mobiles / 2x landlines, and other
international numbers), AMKA (11-digit social security number: DDMMYY birth date + Luhn check
digit), AFM (9-digit tax number with its mod-11 check digit), Greek ID cards ("ΑΒ 123456",
"AB123456"), IBANs and payment card numbers (Luhn). Checksums keep ordinary numbers (counts,
UN numbers, coordinates) from being redacted; a keyword right before a number ("ΑΦΜ", "AMKA")
marks it PII even when its check digit is wrong. Flags never carry the PII itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from crisis_mas.safety.guard.types import make_flag

_EMAIL = re.compile(r"\b[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})*\.[A-Za-z]{2,24}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){3,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_PHONE_GR_INTL = re.compile(r"(?<![\w+])(?:\+|00)\s?30[\s.-]?(?:\(0\))?(?:\d[\s.-]?){9}\d(?!\d)")
_PHONE_GR = re.compile(r"(?<![\d+.,/-])(?:69\d|2\d\d)(?:[\s.-]?\d){7}(?![\d.,/]\d|\d)")
_PHONE_INTL = re.compile(
    r"(?<![\w+])\+(?!30)\d{1,3}[\s.-]?(?:\(?\d{1,4}\)?[\s.-]?){2,5}\d{2,4}(?!\d)"
)
_ELEVEN = re.compile(r"(?<![\d.,/-])\d{11}(?![\d.,/]\d|\d)")
_NINE = re.compile(r"(?<![\d.,/-])\d{9}(?![\d.,/]\d|\d)")
# Greek ID card: two capital letters (Greek, or the Latin look-alikes used in transliteration)
# then six digits, optionally separated.
_ID_LETTERS = "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧABEZHIKMNOPTYX"
_ID_CARD = re.compile(rf"(?<![\w])[{_ID_LETTERS}]{{2}}[\s-]?\d{{6}}(?!\d)")

_KW_AMKA = re.compile(r"(?:αμκα|α\.μ\.κ\.α\.?|amka|social security)\W{0,12}$", re.I)
_KW_AFM = re.compile(r"(?:αφμ|α\.φ\.μ\.?|afm|vat|tax (?:id|number|no)|tin)\W{0,12}$", re.I)
_KW_ID = re.compile(
    r"(?:ταυτ[οό]τητα[ςσ]?|αδτ|α\.δ\.τ\.?|id card|identity card|"
    r"passport|διαβατ[ηή]ριο)\W{0,20}(?:αρ\w*\W{0,5})?$",
    re.I,
)

LABELS = {
    "email": "e-mail address",
    "phone": "phone number",
    "amka": "AMKA (social security number)",
    "afm": "AFM (tax number)",
    "id_card": "Greek ID card number",
    "iban": "IBAN",
    "card": "payment card number",
}


@dataclass(frozen=True, slots=True)
class PiiMatch:
    kind: str
    start: int
    end: int
    score: float
    reason: str


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def afm_ok(afm: str) -> bool:
    """Greek tax number check digit: sum(d_i * 2^(8-i)) mod 11 mod 10 == last digit."""
    if len(afm) != 9 or not afm.isdigit() or afm == "000000000":
        return False
    s = sum(int(afm[i]) * 2 ** (8 - i) for i in range(8))
    return s % 11 % 10 == int(afm[8])


def _birth_date_ok(ddmmyy: str) -> bool:
    try:
        day, month, year = int(ddmmyy[:2]), int(ddmmyy[2:4]), int(ddmmyy[4:6])
        date(2000 + year, month, day)  # leap years: 2000+yy has the same Feb 29s as 1900s+
    except ValueError:
        return day == 29 and month == 2  # 29/02 of a 19xx leap year not in 20xx: accept
    return True


def amka_ok(amka: str) -> bool:
    return len(amka) == 11 and amka.isdigit() and _birth_date_ok(amka[:6]) and luhn_ok(amka)


def _before(text: str, start: int, pat: re.Pattern) -> bool:
    return bool(pat.search(text[max(0, start - 40) : start]))


def find_pii(text: str, kinds: Iterable[str] | None = None) -> list[PiiMatch]:
    """Non-overlapping PII matches, strongest kinds first (e-mail before phone before AFM)."""
    wanted = set(kinds) if kinds is not None else set(LABELS)
    found: list[PiiMatch] = []

    def add(kind: str, s: int, e: int, score: float, reason: str) -> None:
        if kind in wanted and not any(s < m.end and m.start < e for m in found):
            found.append(PiiMatch(kind, s, e, score, reason))

    for m in _EMAIL.finditer(text):
        add("email", m.start(), m.end(), 0.95, "e-mail address")
    for m in _IBAN.finditer(text):
        if m.group().startswith("GR") or len(re.sub(r"\s", "", m.group())) >= 15:
            add("iban", m.start(), m.end(), 0.9, "IBAN")
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits) and not digits.startswith("30"):
            add("card", m.start(), m.end(), 0.85, "payment card number (Luhn valid)")
    for m in _ELEVEN.finditer(text):
        s = m.group()
        if amka_ok(s):
            add("amka", m.start(), m.end(), 0.9, "AMKA (valid birth date and check digit)")
        elif _before(text, m.start(), _KW_AMKA):
            add("amka", m.start(), m.end(), 0.8, "AMKA (labelled; check digit invalid)")
    for pat in (_PHONE_GR_INTL, _PHONE_GR, _PHONE_INTL):
        for m in pat.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            if pat is _PHONE_INTL and not 8 <= len(digits) <= 15:
                continue
            add("phone", m.start(), m.end(), 0.9, "phone number")
    for m in _NINE.finditer(text):
        labelled = _before(text, m.start(), _KW_AFM)
        if afm_ok(m.group()):
            add("afm", m.start(), m.end(), 0.9 if labelled else 0.75, "AFM (valid check digit)")
        elif labelled:
            add("afm", m.start(), m.end(), 0.7, "AFM (labelled; check digit invalid)")
    for m in _ID_CARD.finditer(text):
        labelled = _before(text, m.start(), _KW_ID)
        add("id_card", m.start(), m.end(), 0.9 if labelled else 0.7, "Greek ID card number")
    return sorted(found, key=lambda x: x.start)


def redact_pii(text: str, kinds: Iterable[str] | None = None) -> tuple[str, list[dict]]:
    """Replace each PII item with `[REDACTED:<kind>]`; one flag per item (no PII inside)."""
    matches = find_pii(text, kinds)
    if not matches:
        return text, []
    parts, last, flags = [], 0, []
    for m in matches:
        parts += [text[last : m.start], f"[REDACTED:{m.kind}]"]
        last = m.end
        flags.append(
            make_flag(
                "pii", m.score, f"{m.reason} redacted", pii_type=m.kind, span=[m.start, m.end]
            )
        )
    parts.append(text[last:])
    return "".join(parts), flags
