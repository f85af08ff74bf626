"""BM25 keyword retrieval (rank_bm25's Okapi BM25) and reciprocal rank fusion, Greek-aware.

BM25 catches exact terms that embeddings blur (UN numbers, guide numbers, chemical names, "112");
RRF merges it with vector ranks without having to calibrate the two score scales. Tokens are
folded by `crisis_mas.safety.text.fold` (case, accents, final sigma) and Greek words stemmed by
Snowball's Greek stemmer, so "ΔΙΑΡΡΟΉ", "διαρροής" and "διαρροες" are one term.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import snowballstemmer
from rank_bm25 import BM25Okapi

from crisis_mas.safety.text import fold, is_greek

# Hyphenated and apostrophe forms stay one token and also yield their parts.
_TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_STOP_WORDS = """a about above after again against all am an and any are as at be because been
    before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most my
    no nor not of off on once only or other our ours out over own same she should so some such than
    that the their theirs them then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours"""
# Greek function words, folded (no accents, final sigma as sigma), as `fold` writes them.
_GREEK_STOP_WORDS = """ο η το οι τα του τησ των τον την τουσ τισ στο στη στην στον στα στισ στουσ
    σε με για απο προσ και η ειτε ουτε να θα δεν μη μην αν οτι οπωσ οταν ενω αλλα ομωσ που πωσ τι
    ποιοσ ποια ποιο ποιοι ποιεσ ποιου ποιων ποιον ποιαν ποσο ποση ποσα ποσοι ποσεσ ποτε γιατι
    ειναι ειμαστε ειστε ηταν εχει εχουν εχουμε ενα ενασ μια μιασ ενοσ αυτο αυτοσ αυτη αυτα αυτοι
    αυτεσ αυτου αυτησ αυτων εμεισ εσεισ μασ σασ τουσ τουσ κατα μετα πριν μεχρι χωρισ μεσα εξω πανω
    κατω ολα ολοι ολεσ ολο καθε πολυ πιο επισησ δηλαδη εδω εκει πρεπει μπορει μπορουμε κανουμε"""
_STOP = frozenset(_STOP_WORDS.split()) | frozenset(_GREEK_STOP_WORDS.split())
_GREEK_STEMMER = snowballstemmer.stemmer("greek")
_GREEK_VOWELS = "αεηιουω"


def _stem_latin(tok: str) -> str:
    """A light plural/suffix fold so "evacuations" meets "evacuation" (no dictionary needed)."""
    if len(tok) > 4 and tok.endswith("ies"):
        return tok[:-3] + "y"
    if len(tok) > 3 and tok.endswith("s") and not tok.endswith(("ss", "us", "is")):
        return tok[:-1]
    return tok


@lru_cache(maxsize=65536)
def _stem_greek(tok: str) -> str:
    """Snowball's Greek stemmer, then trailing vowels dropped, so the forms it leaves apart
    meet ("χλωριο" -> "χλωρι", "χλωριου" -> "χλωρ": both "χλωρ")."""
    stem = _GREEK_STEMMER.stemWord(tok).replace("ς", "σ")
    stem = fold(stem)
    while len(stem) > 3 and stem[-1] in _GREEK_VOWELS:
        stem = stem[:-1]
    return stem


def stem(tok: str) -> str:
    """The index form of one folded token: Greek words through the Greek stemmer."""
    return _stem_greek(tok) if is_greek(tok) else _stem_latin(tok)


def tokenize(text: str) -> list[str]:
    """Folded word tokens (Greek and Latin; accents and final sigma folded) without stop words,
    stemmed; hyphenated forms also yield their parts."""
    out: list[str] = []
    for m in _TOKEN.finditer(fold(text)):
        tok = m.group(0).replace("’", "'")
        if tok in _STOP:
            continue
        out.append(stem(tok))
        if "-" in tok:
            out.extend(stem(p) for p in tok.split("-") if p and p not in _STOP)
    return out


class BM25Index:
    """BM25 over a fixed list of chunk ids and texts (rebuilt when the index changes)."""

    def __init__(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        self.ids = np.asarray(list(ids), dtype=np.int64)
        corpus = [tokenize(t) or ["\x00"] for t in texts]
        self._bm25 = BM25Okapi(corpus) if corpus else None

    def __len__(self) -> int:
        return len(self.ids)

    def coverage(self, terms: Sequence[str]) -> float:
        """Share of `terms` that occur anywhere in the corpus (0 for no terms)."""
        if self._bm25 is None or not terms:
            return 0.0
        return sum(1 for t in terms if t in self._bm25.idf) / len(terms)

    def search(
        self,
        query: str,
        k: int,
        allowed: np.ndarray | None = None,
        translated: str = "",
        min_translation_weight: float = 0.25,
    ) -> list[tuple[int, float]]:
        """Top-k (id, score) with a positive score; `allowed` restricts to those ids.

        `translated` (the query's terms in the other language) adds its own BM25 score, weighted
        by how little of the query itself the corpus knows: a Greek question over English
        documents leans on its translation fully, an English question over them keeps its own
        ranking and lets the translation only lift Greek documents (weight >= the minimum)."""
        if self._bm25 is None or k <= 0:
            return []
        terms = tokenize(query)
        extra = tokenize(translated) if translated else []
        if not terms and not extra:
            return []
        scores = np.asarray(self._bm25.get_scores(terms), dtype=np.float64)
        if extra:
            weight = max(min_translation_weight, 1.0 - self.coverage(terms))
            scores = scores + weight * np.asarray(self._bm25.get_scores(extra), dtype=np.float64)
        if allowed is not None:
            scores = np.where(np.isin(self.ids, allowed), scores, -np.inf)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top if scores[i] > 0]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[int, float]]:
    """Merge ranked id lists: score(id) = sum_i w_i / (k + rank_i(id)), rank starting at 1.

    Ties keep the order of first appearance (earlier lists first), so the result is deterministic.
    """
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])
