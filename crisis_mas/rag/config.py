"""RAG configuration: where the index lives, what feeds it, and how retrieval behaves."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The domains our knowledge base is tagged with (issue 4). Experts filter on them.
KNOWN_DOMAINS: tuple[str, ...] = (
    "fire",
    "police",
    "medical",
    "hazmat",
    "civil_protection",
    "flood",
    "coordination",
)

# Measured crossover (docs/bench/rag.md, `bench/rag.py`): up to 25k chunks a single-threaded flat
# scan answers in <2 ms p95 (noise next to the ~20 ms query embedding) and stays exact; at 50k it
# takes 5.6 ms p50 / 6.7 ms p95 while HNSW takes 0.4 ms at recall@5 0.999 (efSearch 128).
DEFAULT_HNSW_THRESHOLD = 50_000


class ChunkingConfig(BaseModel):
    """Chunk size in words, and how many words of whole sentences to repeat between chunks."""

    model_config = ConfigDict(extra="forbid")

    max_words: int = Field(default=120, ge=20, le=400)
    overlap_words: int = Field(default=30, ge=0, le=200)
    # Sections shorter than this are merged into the following section of the same document.
    min_words: int = Field(default=25, ge=0, le=200)


class RagConfig(BaseModel):
    """Settings of the retrieval layer; `AppConfig.rag` holds one."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # Default: $CRISIS_MAS_HOME/index/kb (resolved lazily so importing never touches disk).
    index_dir: str | None = None
    # Files or folders the default index is built from; default: the repo's knowledge/ folder.
    sources: list[str] | None = None
    # Refresh the index from `sources` (incrementally, by content hash) when a Retriever opens.
    auto_refresh: bool = True
    top_k: int = Field(default=5, ge=1, le=50)
    # Budget for retrieved passages inside one expert's prompt (approx. tokens = words * 1.3).
    token_budget: int = Field(default=350, ge=20)
    # Every expert searches its own domains plus these.
    shared_domains: list[str] = Field(default_factory=lambda: ["coordination", "civil_protection"])
    domains: list[str] = Field(default_factory=lambda: list(KNOWN_DOMAINS))
    mode: Literal["hybrid", "vector", "bm25"] = "hybrid"
    # Add the bilingual glossary's other-language terms to BM25 queries (Greek <-> English).
    expand_queries: bool = True
    # Floor on the weight of those terms when the corpus already knows the query's own words.
    min_translation_weight: float = Field(default=0.25, ge=0.0, le=1.0)
    # Reciprocal rank fusion constant: score = sum 1 / (rrf_k + rank).
    rrf_k: int = Field(default=60, ge=1)
    # How many candidates each retriever contributes before fusion (at least k).
    candidates: int = Field(default=30, ge=1, le=1000)
    # At most this many chunks of one document among the hits (0: no limit), for diverse sources.
    max_chunks_per_doc: int = Field(default=0, ge=0, le=50)
    index_type: Literal["auto", "flat", "hnsw"] = "auto"
    hnsw_threshold: int = Field(default=DEFAULT_HNSW_THRESHOLD, ge=1)
    hnsw_m: int = Field(default=32, ge=4, le=128)
    hnsw_ef_construction: int = Field(default=40, ge=8)
    # efSearch 128: recall@5 >= 0.993 at 50k-100k chunks (64 gave 0.97), still < 0.5 ms.
    hnsw_ef_search: int = Field(default=128, ge=8)
    # OpenMP threads for FAISS queries (process-wide). One query at a time on a shared 2-core box
    # was 5-10x faster single-threaded (docs/bench/rag.md); 0 leaves FAISS's default.
    faiss_threads: int = Field(default=1, ge=0, le=64)
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    # Drop retrieved passages that crisis_mas.safety.guard.check_passage rejects (if it exists).
    guard_passages: bool = True

    @field_validator("shared_domains", "domains")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [d.strip().lower() for d in v if d.strip()]

    def resolved_index_dir(self) -> Path:
        """The index folder: `index_dir` or `$CRISIS_MAS_HOME/index/kb`."""
        if self.index_dir:
            return Path(self.index_dir).expanduser()
        from crisis_mas.paths import home

        return home() / "index" / "kb"

    def resolved_sources(self) -> list[Path]:
        """The paths the default index is built from (default: `<repo>/knowledge`)."""
        if self.sources is not None:
            return [Path(s).expanduser() for s in self.sources]
        from crisis_mas.paths import REPO_ROOT

        return [REPO_ROOT / "knowledge"]

    def domains_for(self, own: list[str] | str | None) -> list[str] | None:
        """An expert's filter: its own domains plus the shared ones (None: no filter)."""
        if own is None:
            return None
        own_list = [own] if isinstance(own, str) else list(own)
        out: list[str] = []
        for d in [*own_list, *self.shared_domains]:
            d = d.strip().lower()
            if d and d not in out:
                out.append(d)
        return out
