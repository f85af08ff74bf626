"""What a search returns and how hits become prompt text: `Hit`, `SearchResult`, a token estimate
that knows Greek costs more, the per-prompt passage budget and the citation format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from crisis_mas.safety.text import is_greek

Mode = Literal["hybrid", "vector", "bm25"]


class Hit(BaseModel):
    """One retrieved passage. `score` is cosine (vector), BM25 (bm25) or RRF (hybrid)."""

    doc_id: str
    chunk_id: str
    title: str
    text: str
    score: float
    source: str = ""
    domains: list[str] = Field(default_factory=list)

    def citation(self) -> dict[str, str]:
        """What an assessment cites: `{doc_id, chunk_id, title}`."""
        return {"doc_id": self.doc_id, "chunk_id": self.chunk_id, "title": self.title}


class SearchResult(BaseModel):
    """Hits plus what a tracing span wants: latency and what the guard dropped."""

    query: str
    mode: Mode
    k: int
    domains: list[str] | None = None
    hits: list[Hit] = Field(default_factory=list)
    latency_ms: float = 0.0
    guard_dropped: int = 0
    guard_flags: list[str] = Field(default_factory=list)


def estimate_tokens(text: str) -> int:
    """Approximate tokens: English words * 1.3 (close for BPE/WordPiece vocabularies); a Greek
    word costs about 3, since English-centric vocabularies split Greek into short pieces."""
    words = text.split()
    greek = sum(1 for w in words if is_greek(w))
    return int((len(words) - greek) * 1.3 + greek * 3.0 + 0.999)


def passages_within_budget(
    hits: Sequence[Hit], max_tokens: int = 350, count_tokens: Callable[[str], int] | None = None
) -> list[Hit]:
    """Hits in rank order that fit in `max_tokens`; later hits that do not fit are skipped, and a
    first hit alone larger than the budget is cut to fit (a prompt always gets something)."""
    count = count_tokens or estimate_tokens
    out: list[Hit] = []
    used = 0
    for hit in hits:
        n = count(hit.text)
        if used + n <= max_tokens:
            out.append(hit)
            used += n
        elif not out:
            words = hit.text.split()
            keep = len(words)
            while keep > 0 and count(" ".join(words[:keep]) + " …") > max_tokens:
                keep = int(keep * 0.9) if keep > 10 else keep - 1
            if keep > 0:
                text = " ".join(words[:keep]) + " …"
                out.append(hit.model_copy(update={"text": text}))
                used += count(text)
    return out


def format_passages(hits: Sequence[Hit]) -> str:
    """Passages for a prompt, each tagged with the chunk id the model should cite."""
    return "\n\n".join(f"[{h.chunk_id}] {h.title}\n{h.text}" for h in hits)
