"""BM25 keyword retrieval (rank_bm25's Okapi BM25) and reciprocal rank fusion.

BM25 catches exact terms that embeddings blur (UN numbers, guide numbers, chemical names, "112");
RRF merges it with vector ranks without having to calibrate the two score scales.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Okapi

_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*", re.UNICODE)
_STOP_WORDS = """a about above after again against all am an and any are as at be because been
    before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most my
    no nor not of off on once only or other our ours out over own same she should so some such than
    that the their theirs them then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours"""
_STOP = frozenset(_STOP_WORDS.split())


def _stem(tok: str) -> str:
    """A light plural/suffix fold so "evacuations" meets "evacuation" (no dictionary needed)."""
    if len(tok) > 4 and tok.endswith("ies"):
        return tok[:-3] + "y"
    if len(tok) > 3 and tok.endswith("s") and not tok.endswith(("ss", "us", "is")):
        return tok[:-1]
    return tok


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stop words; hyphenated forms also yield their parts."""
    out: list[str] = []
    for m in _TOKEN.finditer(text.lower()):
        tok = m.group(0).replace("’", "'")
        if tok in _STOP:
            continue
        out.append(_stem(tok))
        if "-" in tok:
            out.extend(_stem(p) for p in tok.split("-") if p and p not in _STOP)
    return out


class BM25Index:
    """BM25 over a fixed list of chunk ids and texts (rebuilt when the index changes)."""

    def __init__(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        self.ids = np.asarray(list(ids), dtype=np.int64)
        corpus = [tokenize(t) or ["\x00"] for t in texts]
        self._bm25 = BM25Okapi(corpus) if corpus else None

    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (id, score) with a positive score; `allowed` restricts to those ids."""
        if self._bm25 is None or k <= 0:
            return []
        terms = tokenize(query)
        if not terms:
            return []
        scores = np.asarray(self._bm25.get_scores(terms), dtype=np.float64)
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
