"""Undo common obfuscation before rule matching: invisible characters, homoglyphs, leetspeak,
spaced-out letters, and base64/hex payloads (decoded so the rules can read them)."""

from __future__ import annotations

import base64
import binascii
import re

from crisis_mas.safety.text import clean_unicode

# Cyrillic/Greek letters that look Latin, used to dodge keyword filters inside Latin words.
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a",
        "е": "e",
        "о": "o",
        "р": "p",
        "с": "c",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "ԁ": "d",
        "ɡ": "g",
        "ο": "o",
        "ι": "i",
        "α": "a",
        "ε": "e",
        "ν": "v",
        "τ": "t",
    }
)
_MIXED_WORD = re.compile(r"\b(?=\w*[a-z])(?=\w*[\u0370-\u03ff\u0400-\u04ff])\w+\b", re.I)
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_LEET_WORD = re.compile(r"\b(?=[\w@$!]*[a-z])(?=[\w@$!]*[0-9@$!])[a-z0-9@$!]{3,}\b", re.I)
_SPACED = re.compile(r"\b(?:[a-z][ .\-_*]){3,}[a-z]\b", re.I)
_B64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=])")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}[\s:]?){16,}\b")


def clean(text: str) -> str:
    """NFKC, invisible characters dropped (the shared `clean_unicode`), homoglyphs inside Latin
    words mapped back. Accents and final sigma are kept: the Greek rules spell them out."""
    text = clean_unicode(text)
    return _MIXED_WORD.sub(lambda m: m.group().translate(_HOMOGLYPHS), text)


def deobfuscate(text: str) -> str:
    """A lower-cased reading with leetspeak and spaced-out letters undone (for matching only)."""
    t = clean(text).lower()
    t = _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group()), t)
    t = _LEET_WORD.sub(lambda m: m.group().translate(_LEET), t)
    return re.sub(r"[ \t\r\f\v]+", " ", t)


def _printable_ratio(s: str) -> float:
    return sum(c.isprintable() or c in "\n\t" for c in s) / max(1, len(s))


def decoded_payloads(text: str, limit: int = 8) -> list[str]:
    """Plain-text readings of base64/hex blobs in `text` (only those that decode to text)."""
    out: list[str] = []
    for m in _B64.finditer(text):
        blob = m.group()
        if blob.isalpha() and (blob.islower() or blob.isupper()):
            continue  # a long plain word, not base64
        try:
            raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=False)
            s = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if len(s) >= 12 and _printable_ratio(s) > 0.95 and re.search(r"[a-zA-Z]{3,}\s", s):
            out.append(s)
        if len(out) >= limit:
            return out
    for m in _HEX.finditer(text):
        try:
            s = bytes.fromhex(re.sub(r"[\s:]", "", m.group())).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
        if _printable_ratio(s) > 0.95 and re.search(r"[a-zA-Z]{3,}\s", s):
            out.append(s)
        if len(out) >= limit:
            break
    return out
