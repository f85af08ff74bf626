"""Retrieval-augmented grounding: our knowledge base, FAISS + BM25 hybrid search, citations.

Public API (imported lazily so that `crisis_mas.config` does not pull in FAISS):
  Retriever.open(config) -> Retriever;  retriever.search(query, k, domains) -> list[Hit]
  retriever.search_many(queries, k, domains) / search_for_experts([(query, domains, focus)]):
    several searches with one embedding batch (what an assessment calls once per run)
  passages_within_budget(hits, max_tokens) -> list[Hit];  format_passages(hits) -> str
  tool_definition() / call_search_corpus(args, retriever);  ingest(paths, index_dir, config)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from crisis_mas.rag.config import KNOWN_DOMAINS, ChunkingConfig, RagConfig

_LAZY = {
    "Retriever": "crisis_mas.rag.retriever",
    "Hit": "crisis_mas.rag.hits",
    "SearchResult": "crisis_mas.rag.hits",
    "passages_within_budget": "crisis_mas.rag.hits",
    "format_passages": "crisis_mas.rag.hits",
    "estimate_tokens": "crisis_mas.rag.hits",
    "ingest": "crisis_mas.rag.ingest",
    "IngestReport": "crisis_mas.rag.ingest",
    "tool_definition": "crisis_mas.rag.tool",
    "openai_tool": "crisis_mas.rag.tool",
    "call_search_corpus": "crisis_mas.rag.tool",
    "ToolArgumentError": "crisis_mas.rag.tool",
    "SEARCH_CORPUS_TOOL": "crisis_mas.rag.tool",
}

__all__ = [
    "KNOWN_DOMAINS",
    "SEARCH_CORPUS_TOOL",
    "ChunkingConfig",
    "Hit",
    "IngestReport",
    "RagConfig",
    "Retriever",
    "SearchResult",
    "ToolArgumentError",
    "call_search_corpus",
    "estimate_tokens",
    "format_passages",
    "ingest",
    "openai_tool",
    "passages_within_budget",
    "tool_definition",
]

if TYPE_CHECKING:  # pragma: no cover
    from crisis_mas.rag.ingest import IngestReport, ingest
    from crisis_mas.rag.retriever import (
        Hit,
        Retriever,
        SearchResult,
        estimate_tokens,
        format_passages,
        passages_within_budget,
    )
    from crisis_mas.rag.tool import (
        SEARCH_CORPUS_TOOL,
        ToolArgumentError,
        call_search_corpus,
        openai_tool,
        tool_definition,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'crisis_mas.rag' has no attribute {name!r}")
    return getattr(import_module(module), name)
