"""Cache keys, scopes and the never-cache rules.

The exact key hashes everything that can change an answer: base model, adapter (name + a digest of
its files, so a retrained adapter at the same path misses), the rendered messages, the sampling
settings, and the knowledge-base and prompt-template versions. The semantic *scope* hashes the same
things minus the last user message, which is what the semantic lookup compares by meaning.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path

from crisis_mas.pool.types import AdapterRef, ChatMessage, GenerationRequest, ScoreRequest

_digest_lock = threading.Lock()
_digests: dict[tuple, str] = {}


def adapter_digest(adapter: AdapterRef | None) -> str:
    """`base`, or the adapter name plus a content hash of its files (memoised by size+mtime)."""
    if adapter is None:
        return "base"
    p = Path(adapter.path)
    try:
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    except OSError:
        stamp = ()
    memo_key = (adapter.name, adapter.path, stamp)
    with _digest_lock:
        if memo_key in _digests:
            return _digests[memo_key]
    h = hashlib.sha256(f"{adapter.name}\0{adapter.path}\0".encode())
    for f, _size, _mtime in stamp:
        try:
            h.update(Path(f).read_bytes())
        except OSError:
            h.update(f.encode())
    out = f"{adapter.name}:{h.hexdigest()[:16]}"
    with _digest_lock:
        _digests[memo_key] = out
    return out


def _messages(messages: list[ChatMessage]) -> list[list[str]]:
    return [[m.role, m.content] for m in messages]


def _hash(payload: dict) -> str:
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def _versions(tags: dict[str, str]) -> dict[str, str]:
    return {"kb": tags.get("kb_version", ""), "prompt": tags.get("prompt_version", "")}


def generation_key(req: GenerationRequest, base: str, namespace: str) -> str:
    return _hash(
        {
            "ns": namespace,
            "op": "generate",
            "base": base,
            "adapter": adapter_digest(req.adapter),
            "messages": _messages(req.messages),
            "sampling": req.sampling.model_dump(mode="json"),
            **_versions(req.tags),
            **_raw(req),
        }
    )


def _raw(req: GenerationRequest) -> dict[str, bool]:
    """A plain completion never shares a key with a chat turn of the same text (chat keys are
    unchanged, so existing cache entries stay valid)."""
    return {"raw": True} if req.raw_prompt else {}


def score_key(req: ScoreRequest, base: str, namespace: str) -> str:
    return _hash(
        {
            "ns": namespace,
            "op": "score",
            "base": base,
            "adapter": adapter_digest(req.adapter),
            "messages": _messages(req.messages),
            "prefix": req.prefix,
            "continuations": req.continuations,
            **_versions(req.tags),
        }
    )


def semantic_query(req: GenerationRequest) -> str | None:
    """The text compared by meaning: the last message, if it is the user's."""
    if not req.messages or req.messages[-1].role != "user":
        return None
    return req.messages[-1].content


def semantic_scope(req: GenerationRequest, base: str, namespace: str) -> str:
    """Everything but the last user message must be identical for a semantic hit."""
    return _hash(
        {
            "ns": namespace,
            "op": "semantic",
            "base": base,
            "adapter": adapter_digest(req.adapter),
            "context": _messages(req.messages[:-1]),
            "sampling": req.sampling.model_dump(mode="json"),
            **_versions(req.tags),
            **_raw(req),
        }
    )


# Personal data and dated timestamps: an answer about them must never be served to someone else.
_PII = [
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),  # e-mail
    re.compile(r"(?<!\d)(?:\+|00)\d{2}[\s-]?\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}(?!\d)"),  # intl phone
    re.compile(r"(?<![\d.,])(?:69\d|2\d{2})[\s-]?\d{3}[\s-]?\d{4}(?![\d.,])"),  # Greek phone
    re.compile(r"(?<![\d.,])\d{11}(?![\d.,])"),  # AMKA (social security number)
    re.compile(r"\b(?:AMKA|ΑΜΚΑ|AFM|ΑΦΜ|ΑΔΤ|IBAN)\b", re.I),
    re.compile(r"\bGR\d{2}[\s\d]{20,}", re.I),  # IBAN
]
_TIMESTAMP = [
    re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"),  # ISO 8601 date-time
    re.compile(r"\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b"),  # 23/11/2026, 23.11.26
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),  # ISO date
]


def never_cache_reason(tags: dict[str, str], texts: list[str], detect_pii: bool) -> str | None:
    """Why a request must bypass the cache entirely (None: it may be cached)."""
    if tags.get("no_cache", "").lower() in {"1", "true", "yes"}:
        return "no_cache tag"
    if detect_pii:
        for text in texts:
            if any(p.search(text) for p in _PII):
                return "personal data"
            if any(p.search(text) for p in _TIMESTAMP):
                return "timestamp"
    return None
