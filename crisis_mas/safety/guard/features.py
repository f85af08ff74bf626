"""Hashed character and word n-gram features of the learned injection detector.

Pure numpy and version-independent, so a model trained once scores the same everywhere: the
text is read the way the rules read it (invisible characters, homoglyphs, leetspeak and spaced
letters undone; accents, case and final sigma folded), then counted as character n-grams
(2-5, inside word boundaries, like scikit-learn's `char_wb`) and word uni/bigrams, each hashed
with a fixed polynomial/CRC hash. A text is cut into units (sentences); a window's counts are
the sum of its units' counts, so every window of a long text costs one pass over it.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

from crisis_mas.safety.guard.normalize import decoded_payloads, deobfuscate
from crisis_mas.safety.text import fold

CHAR_BITS = 18
WORD_BITS = 16
N_CHAR = 1 << CHAR_BITS
N_WORD = 1 << WORD_BITS
N_FEATURES = N_CHAR + N_WORD
NGRAMS = (2, 3, 4, 5)
WORD_WEIGHT = 0.6  # the word block's share after each block is l2-normalised

_TOKEN = re.compile(r"[^\W_]+|[<>\[\]{}|#@/\\=*`~^$%&+-]+")
_SPACE = re.compile(r"\s+")
_P = np.uint64(1_000_003)
_MASK = np.uint64((1 << 32) - 1)
_MIX = np.uint64(0x9E3779B1)
# Sentence-ish units: after . ! ? ; (Greek question mark) or a line break.
_UNIT = re.compile(r"[^.!?;;\n]+(?:[.!?;;]+['\"”’)\]]*|\n|$)")
# List items run together in extracted documents ("• Stay upwind • Keep away"): cut there too.
_BULLET = re.compile(r"\s[•·▪◦□■–—]\s|\s-\s(?=\w)|\s\*\s(?=\w)")
MAX_UNIT_CHARS = 400
# Units longer than this are also read in overlapping spans of SPAN_WORDS words, so a planted
# sentence that ran into its neighbour (no full stop between them) is not diluted.
SPAN_FROM_CHARS = 160
SPAN_WORDS = 24


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def word_count(text: str) -> int:
    """Words of a text, counting two CJK/kana/hangul characters as one (no spaces there)."""
    return len(text.split()) + len(_CJK.findall(text)) // 2


def reading(text: str) -> str:
    """The normalised reading the features are counted on (also used by the training code)."""
    t = fold(deobfuscate(text))
    return _SPACE.sub(" ", t).strip()


def tokens(read: str) -> list[str]:
    return _TOKEN.findall(read)


def _char_hashes(toks: list[str]) -> np.ndarray:
    """Hashes of the 2-5 character n-grams of every token padded with spaces (char_wb)."""
    if not toks:
        return np.empty(0, dtype=np.int64)
    s = " " + "  ".join(toks) + " "
    codes = np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    space = codes == 32
    # An n-gram may hold a space only at its ends (the padding), never inside.
    inner = np.concatenate(([0], np.cumsum(space)))
    out = []
    for n in NGRAMS:
        m = len(codes) - n + 1
        if m <= 0:
            continue
        h = np.zeros(m, dtype=np.uint64)
        for k in range(n):
            h = (h * _P + codes[k : k + m] + np.uint64(n)) & _MASK
        inside = inner[n - 1 : n - 1 + m] - inner[1 : 1 + m]  # spaces at offsets 1..n-2
        ok = (inside == 0) & ~(space[:m] & space[n - 1 : n - 1 + m] & (n == 2))
        h = h[ok]
        h = ((h * _MIX) & _MASK) >> np.uint64(32 - CHAR_BITS)
        out.append(h.astype(np.int64))
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


def _word_hashes(toks: list[str]) -> np.ndarray:
    grams = toks + [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]
    return np.fromiter(
        (zlib.crc32(g.encode("utf-8")) & (N_WORD - 1) for g in grams),
        dtype=np.int64,
        count=len(grams),
    )


@dataclass(frozen=True)
class Unit:
    """Raw n-gram hashes of one unit of text (char hashes, word hashes) and the text itself."""

    chars: np.ndarray
    words: np.ndarray
    text: str


def unit(text: str) -> Unit:
    toks = tokens(reading(text))
    return Unit(_char_hashes(toks), _word_hashes(toks), text)


def split_units(text: str) -> list[str]:
    """Sentences (at . ! ? ; line breaks and list bullets), long ones cut into MAX_UNIT_CHARS
    pieces."""
    out: list[str] = []
    for m in _UNIT.finditer(text):
        for part in _BULLET.split(m.group()):
            out += _cut(part.strip())
    return out


def _cut(s: str) -> list[str]:
    out: list[str] = []
    while len(s) > MAX_UNIT_CHARS:
        cut = s.rfind(" ", MAX_UNIT_CHARS // 2, MAX_UNIT_CHARS)
        cut = cut if cut > 0 else MAX_UNIT_CHARS
        out.append(s[:cut])
        s = s[cut:].strip()
    if s and any(c.isalnum() for c in s):
        out.append(s)
    return out


def _block(hashes: np.ndarray, offset: int, weight: float) -> tuple[np.ndarray, np.ndarray]:
    if hashes.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    idx, counts = np.unique(hashes, return_counts=True)
    vals = counts.astype(np.float32)
    vals *= weight / float(np.sqrt((vals * vals).sum()))
    return idx + offset, vals


def vectorize(units: list[Unit]) -> tuple[np.ndarray, np.ndarray]:
    """Sparse feature vector (indices, values) of the window made of `units`."""
    chars = np.concatenate([u.chars for u in units]) if units else np.empty(0, np.int64)
    words = np.concatenate([u.words for u in units]) if units else np.empty(0, np.int64)
    ci, cv = _block(chars, 0, 1.0)
    wi, wv = _block(words, N_CHAR, WORD_WEIGHT)
    return np.concatenate([ci, wi]), np.concatenate([cv, wv])


def windows(text: str, max_windows: int = 256, whole_max_chars: int = 1500) -> list[list[Unit]]:
    """The windows a text is scored on: every unit, every two adjacent units, overlapping word
    spans of long units, the whole text when short, and the plain reading of any base64/hex
    payload it carries."""
    pieces = split_units(text)
    units = [unit(p) for p in pieces]
    wins: list[list[Unit]] = [[u] for u in units]
    wins += [[a, b] for a, b in zip(units, units[1:], strict=False)]
    for p in pieces:
        if len(p) > SPAN_FROM_CHARS:
            words = p.split()
            step = SPAN_WORDS // 2
            wins += [
                [unit(" ".join(words[i : i + SPAN_WORDS]))]
                for i in range(0, max(1, len(words) - step), step)
            ]
    if len(units) > 2 and len(text) <= whole_max_chars:
        wins.append(units)
    for payload in decoded_payloads(text, limit=4):
        wins.append([unit(payload)])
    if not wins:
        wins = [[unit(text)]]
    return wins[:max_windows]
