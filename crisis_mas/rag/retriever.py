"""The retriever the agents use: hybrid (BM25 + vector, RRF) search with domain filters,
prompt-injection screening of passages, and a token budget for small-model prompts.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from crisis_mas.embeddings import Embedder, get_embedder
from crisis_mas.errors import InputError
from crisis_mas.rag.chunking import embedding_text
from crisis_mas.rag.config import RagConfig
from crisis_mas.rag.glossary import translations
from crisis_mas.rag.hits import (
    Hit,
    Mode,
    SearchResult,
    estimate_tokens,
    format_passages,
    passages_within_budget,
)
from crisis_mas.rag.ingest import IngestReport, ingest
from crisis_mas.rag.lexical import BM25Index, reciprocal_rank_fusion
from crisis_mas.rag.store import IndexFormatError, IndexStore

# Hits and their prompt helpers live in hits.py; importable from here as before.
__all__ = [
    "Hit",
    "Mode",
    "Retriever",
    "SearchResult",
    "estimate_tokens",
    "format_passages",
    "passages_within_budget",
]

log = logging.getLogger(__name__)

# Weight of an expert's focus line against the scenario in its query vector (search_for_experts).
FOCUS_WEIGHT = 0.5


def _load_guard() -> Callable | None:
    """`crisis_mas.safety.guard.check_passage` if the safety engineer's module is present."""
    try:
        from crisis_mas.safety.guard import check_passage  # type: ignore[import-not-found]
    except ImportError:
        return None
    return check_passage


class Retriever:
    """Search over one persisted index. Thread-safe for concurrent `search` calls."""

    def __init__(
        self, store: IndexStore, config: RagConfig | None = None, embedder: Embedder | None = None
    ) -> None:
        self.config = config or RagConfig()
        self.store = store
        self.embedder = embedder or get_embedder()
        self._bm25: BM25Index | None = None
        self._lock = threading.Lock()
        self._guard = _load_guard() if self.config.guard_passages else None
        if self.config.faiss_threads:
            import faiss

            faiss.omp_set_num_threads(self.config.faiss_threads)
        self.last_refresh: IngestReport | None = None
        self.last_result: SearchResult | None = None
        self.guard_dropped_total = 0

    # ---- construction ------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        config: RagConfig | None = None,
        *,
        embedder: Embedder | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Retriever:
        """Open the configured index, first refreshing it from `config.sources` if
        `auto_refresh` (incremental: unchanged documents cost a file read and a hash)."""
        cfg = config or RagConfig()
        index_dir = cfg.resolved_index_dir()
        report = None
        if cfg.auto_refresh:
            sources = [p for p in cfg.resolved_sources() if p.exists()]
            missing = [str(p) for p in cfg.resolved_sources() if not p.exists()]
            if missing:
                log.warning("RAG sources not found: %s", ", ".join(missing))
            if sources or not IndexStore.exists(index_dir):
                report = ingest(sources, index_dir, cfg, embedder=embedder, progress=progress)
                for w in report.skipped:
                    log.warning("skipped %s", w)
        retriever = cls.load(index_dir, cfg, embedder=embedder)
        retriever.last_refresh = report
        return retriever

    @classmethod
    def load(
        cls,
        index_dir: Path | str,
        config: RagConfig | None = None,
        *,
        embedder: Embedder | None = None,
    ) -> Retriever:
        """Open an existing index folder as is; raises InputError if there is none."""
        try:
            store = IndexStore.load(Path(index_dir).expanduser())
        except IndexFormatError as err:
            raise InputError(str(err)) from None
        return cls(store, config, embedder)

    def warmup(self) -> None:
        """Load the embedding model and build BM25 now, so the first real query is fast."""
        self.embedder.encode(["warm-up"])
        self._bm25_index()

    # ---- search --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.store)

    @property
    def domains(self) -> list[str]:
        """Domains known to the config plus any present in the index."""
        out = list(self.config.domains)
        for rec in self.store.docs.values():
            out.extend(d for d in rec.domains if d not in out)
        return out

    @property
    def version(self) -> str:
        """A digest of the indexed documents and the embedding model: changes whenever the
        knowledge an answer could be grounded in changes (the response cache keys on it)."""
        h = hashlib.sha256(f"{self.store.meta.model}\0".encode())
        for doc_id, rec in sorted(self.store.docs.items()):
            h.update(f"{doc_id}\0{rec.hash}\0".encode())
        return h.hexdigest()[:16]

    def _bm25_index(self) -> BM25Index:
        with self._lock:
            if self._bm25 is None:
                recs = [self.store.chunks[c] for c in self.store.ids.tolist()]
                self._bm25 = BM25Index(
                    [r.id for r in recs],
                    [embedding_text(r.title, r.heading, r.text, r.aliases) for r in recs],
                )
            return self._bm25

    def _allowed(self, domains: Sequence[str] | None) -> np.ndarray | None:
        if domains is None:
            return None
        wanted = {d.strip().lower() for d in domains if d.strip()}
        unknown = sorted(wanted - set(self.domains))
        if unknown:
            raise InputError(
                f"unknown domain(s): {', '.join(unknown)} (known: {', '.join(self.domains)})"
            )
        ids = [
            cid
            for rec in self.store.docs.values()
            if wanted & set(rec.domains)
            for cid in rec.chunk_ids
        ]
        return np.asarray(ids, dtype=np.int64)

    def search(
        self, query: str, k: int = 5, domains: list[str] | None = None, mode: Mode | None = None
    ) -> list[Hit]:
        """Top-k passages for `query`, restricted to chunks tagged with any of `domains`."""
        return self.retrieve(query, k, domains, mode).hits

    def retrieve(
        self, query: str, k: int = 5, domains: Sequence[str] | None = None, mode: Mode | None = None
    ) -> SearchResult:
        """Like `search` but returns latency and guard counts too (for tracing)."""
        return self.retrieve_many([query], k, [domains], mode)[0]

    def search_many(
        self,
        queries: Sequence[str],
        k: int = 5,
        domains: Sequence[Sequence[str] | None] | None = None,
        mode: Mode | None = None,
    ) -> list[list[Hit]]:
        """`[search(q, k, d) for q, d in zip(queries, domains)]`, with every query embedded in
        one batch (one model call instead of one per query)."""
        return [r.hits for r in self.retrieve_many(queries, k, domains, mode)]

    def retrieve_many(
        self,
        queries: Sequence[str],
        k: int = 5,
        domains: Sequence[Sequence[str] | None] | None = None,
        mode: Mode | None = None,
        embed: Callable[[list[str]], np.ndarray] | None = None,
    ) -> list[SearchResult]:
        """`retrieve` for several queries (each with its own domain filter, or None); the
        embedding is batched and its time shared out evenly in each result's `latency_ms`.
        `embed` replaces the embedder's `encode` for the query vectors (one call for all)."""
        started = time.perf_counter()
        mode = mode or self.config.mode
        doms = list(domains) if domains is not None else [None] * len(queries)
        if len(doms) != len(queries):
            raise InputError(f"{len(queries)} queries but {len(doms)} domain filters")
        for q in queries:
            if not isinstance(q, str) or not q.strip():
                raise InputError("query must be a non-empty string")
        if k < 1:
            raise InputError(f"k must be >= 1, got {k}")
        allowed = [self._allowed(d) for d in doms]
        live = [
            i
            for i, a in enumerate(allowed)
            if len(self.store) and (a is None or len(a)) and mode != "bm25"
        ]
        encode = embed or self.embedder.encode
        vectors = encode([queries[i] for i in live]) if live else None
        shared_ms = (time.perf_counter() - started) * 1000 / max(1, len(queries))
        qvec = {i: vectors[j] for j, i in enumerate(live)} if vectors is not None else {}
        out = []
        for i, query in enumerate(queries):
            t = time.perf_counter()
            result = self._ranked(query, k, doms[i], mode, allowed[i], qvec.get(i))
            result.latency_ms = shared_ms + (time.perf_counter() - t) * 1000
            out.append(result)
        if out:
            self.last_result = out[-1]
        return out

    def _ranked(
        self,
        query: str,
        k: int,
        domains: Sequence[str] | None,
        mode: Mode,
        allowed: np.ndarray | None,
        qvec: np.ndarray | None,
    ) -> SearchResult:
        """One query's hits, its vector (if the mode needs one) already computed."""
        result = SearchResult(
            query=query, mode=mode, k=k, domains=list(domains) if domains is not None else None
        )
        if len(self.store) == 0 or (allowed is not None and len(allowed) == 0):
            return result
        n_cand = max(self.config.candidates, k * 3)
        ranked: list[tuple[int, float]]
        if mode == "bm25":
            ranked = self._lexical(query, n_cand, allowed)
        else:
            assert qvec is not None
            vec = self.store.search(qvec, n_cand, allowed, self.config.hnsw_ef_search)
            if mode == "vector":
                ranked = vec
            else:
                lex = self._lexical(query, n_cand, allowed)
                ranked = reciprocal_rank_fusion(
                    [[i for i, _ in vec], [i for i, _ in lex]], k=self.config.rrf_k
                )

        per_doc: dict[str, int] = {}
        cap = self.config.max_chunks_per_doc
        for cid, score in ranked:
            if len(result.hits) >= k:
                break
            rec = self.store.chunks[cid]
            if cap and per_doc.get(rec.doc_id, 0) >= cap:
                continue
            if not self._passes_guard(rec.text, result):
                continue
            per_doc[rec.doc_id] = per_doc.get(rec.doc_id, 0) + 1
            result.hits.append(
                Hit(
                    doc_id=rec.doc_id,
                    chunk_id=rec.chunk_id,
                    title=rec.title,
                    text=rec.text,
                    score=round(score, 6),
                    source=rec.source,
                    domains=rec.domains,
                )
            )
        return result

    def _lexical(self, query: str, n: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        """BM25 ranking, with the glossary's other-language terms when expansion is on."""
        extra = " ".join(translations(query)) if self.config.expand_queries else ""
        return self._bm25_index().search(
            query, n, allowed, extra, self.config.min_translation_weight
        )

    def _passes_guard(self, text: str, result: SearchResult) -> bool:
        """Indirect prompt-injection screen; a guard error drops the passage (fail closed)."""
        if self._guard is None:
            return True
        try:
            verdict = self._guard(text)
            allowed = bool(getattr(verdict, "allowed", verdict))
            flags = [
                str(f.get("type", f)) if isinstance(f, dict) else str(f)
                for f in (getattr(verdict, "flags", None) or [])
            ]
        except Exception as err:  # noqa: BLE001 - a broken guard must not leak passages
            log.warning("passage guard failed (%s); passage dropped", err)
            allowed, flags = False, [f"guard_error:{type(err).__name__}"]
        if not allowed:
            result.guard_dropped += 1
            result.guard_flags.extend(f for f in flags if f not in result.guard_flags)
            with self._lock:
                self.guard_dropped_total += 1
        return allowed

    def search_for_expert(
        self,
        query: str,
        own_domains: list[str] | str,
        k: int | None = None,
        focus: str | None = None,
    ) -> list[Hit]:
        """An expert's search: its domains plus the shared ones, cut to the token budget.

        `focus` (e.g. the expert's one-line role) is put before the query: with the same scenario
        text for every expert it is what makes the police commander get cordon doctrine and the
        medical one triage, instead of everyone getting the same scenario-level article."""
        return self.search_for_experts([(query, own_domains, focus)], k)[0]

    def search_for_experts(
        self,
        requests: Sequence[tuple[str, list[str] | str, str | None]],
        k: int | None = None,
    ) -> list[list[Hit]]:
        """`search_for_expert` for every `(query, own_domains, focus)` of a run, in order, with
        one embedding batch: what an assessment calls once per run.

        BM25 reads `focus + query`. The vector is the query's (the scenario, the same for every
        expert, embedded once) plus `FOCUS_WEIGHT` times the focus line's, normalised: a
        five-expert run embeds one long text and five short ones instead of five long ones
        (5x less work with e5; on the bundled scenarios the experts' hits match the vector of
        `focus + query` on 88 % of documents, with the same share from the experts' own domains,
        docs/rag.md)."""
        queries = [f"{f.strip()}\n{q}" if f and f.strip() else q for q, _, f in requests]
        domains = [self.config.domains_for(d) for _, d, _ in requests]
        pairs = {
            t: (q, f.strip() if f and f.strip() else None)
            for t, (q, _, f) in zip(queries, requests, strict=True)
        }

        def embed(texts: list[str]) -> np.ndarray:
            parts = list(dict.fromkeys(x for t in texts for x in pairs[t] if x))
            vec = dict(zip(parts, self.embedder.encode(parts), strict=True))
            out = []
            for t in texts:
                q, f = pairs[t]
                v = vec[q] + FOCUS_WEIGHT * vec[f] if f else vec[q]
                out.append(v / (np.linalg.norm(v) or 1.0))
            return np.stack(out).astype(np.float32)

        results = self.retrieve_many(queries, k or self.config.top_k, domains, embed=embed)
        return [passages_within_budget(r.hits, self.config.token_budget) for r in results]
