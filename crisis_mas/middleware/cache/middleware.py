"""The `cache` link: answers repeated (or, for reference questions, paraphrased) calls from storage.

Per batch: exact lookups in one round trip, then semantic lookups for eligible misses, then only
the remaining requests go to `next`, results back in request order. Answers are stored only when
they are safe to reuse: not blocked, no HAZMAT contradiction or serious guard flag, not sampled
without a seed, and the request is neither tagged `no_cache` nor carries personal data or a dated
timestamp. Any backend failure (Redis killed mid-run, a locked file) turns the cache into a
pass-through with one warning, retried after `retry_after_s`; a request never fails because of it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from crisis_mas.middleware.cache import record_hit
from crisis_mas.middleware.cache.backends import COUNTERS, CacheBackend, open_backend
from crisis_mas.middleware.cache.entities import signature
from crisis_mas.middleware.cache.keys import (
    generation_key,
    never_cache_reason,
    score_key,
    semantic_query,
    semantic_scope,
)
from crisis_mas.middleware.cache.semantic import Encoder, best_match, get_encoder
from crisis_mas.middleware.chain import CallNext, Middleware, Op
from crisis_mas.pool.types import (
    GenerationRequest,
    GenerationResult,
    ScoreRequest,
    ScoreResult,
)

if TYPE_CHECKING:
    from crisis_mas.middleware.config import CacheConfig, OpsConfig

log = logging.getLogger("crisis_mas.middleware.cache")


class _Bypass(Exception):
    """The backend is unavailable: serve this batch without the cache."""


@dataclass
class _Plan:
    key: str
    ttl: int
    label: str
    semantic: bool = False
    query: str = ""
    scope: str = ""
    signature: frozenset[str] = field(default_factory=frozenset)
    vector: np.ndarray | None = None


def _tokens(result: GenerationResult | ScoreResult) -> int:
    """Tokens a cache hit saved: prompt plus any completion."""
    return result.prompt_tokens + getattr(result, "completion_tokens", 0)


def _label_part(value: str | None, default: str) -> str:
    return re.sub(r"[:\s]", "_", value or default)


class CacheLink(Middleware):
    """Exact + semantic response cache around the rest of the chain."""

    name = "cache"

    def __init__(
        self,
        cfg: CacheConfig,
        base: str,
        backend: CacheBackend | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        self.cfg = cfg
        self.base = base
        self._backend = backend
        self._encoder = encoder
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._warned = False
        self._semantic_broken = False

    # ---- backend access with bypass-on-failure ---------------------------------------------
    def _get_backend(self) -> CacheBackend:
        if time.monotonic() < self._down_until:
            raise _Bypass
        if self._backend is None:
            try:
                self._backend = open_backend(self.cfg)
            except Exception as err:
                self._fail(err)
        return self._backend  # type: ignore[return-value]

    def _call(self, fn: Any, *args: Any) -> Any:
        self._get_backend()
        try:
            out = fn(*args)
        except Exception as err:
            self._fail(err)
        if self._warned:
            with self._lock:
                self._warned = False
            log.warning("cache: %s is back; caching resumed", self._describe())
        return out

    def _fail(self, err: Exception) -> None:
        with self._lock:
            self._down_until = time.monotonic() + self.cfg.retry_after_s
            first = not self._warned
            self._warned = True
        if first:
            log.warning(
                "cache: %s unavailable (%s: %s); bypassing the cache, retry in %.0f s",
                self._describe(),
                type(err).__name__,
                err,
                self.cfg.retry_after_s,
            )
        else:
            log.debug("cache: still unavailable: %s", err)
        raise _Bypass from err

    def _describe(self) -> str:
        return self._backend.describe() if self._backend is not None else "cache backend"

    def _encode(self, texts: list[str]) -> np.ndarray | None:
        if self._semantic_broken:
            return None
        try:
            if self._encoder is None:
                self._encoder = get_encoder()
            return self._encoder.encode(texts)
        except Exception as err:
            self._semantic_broken = True
            log.warning("cache: semantic lookups disabled, the encoder failed: %s", err)
            return None

    # ---- planning ------------------------------------------------------------------------------
    def _label(self, op: str, tags: dict[str, str], adapter: str | None) -> str:
        return ":".join(
            [
                self.cfg.namespace,
                op,
                _label_part(tags.get("kind"), "unknown"),
                _label_part(adapter, "base"),
                _label_part(tags.get("expert"), "none"),
            ]
        )

    def _plan_generation(self, req: GenerationRequest) -> _Plan | None:
        kind = req.tags.get("kind")
        ttl = self.cfg.ttl_for(kind)
        if ttl <= 0:
            return None
        if req.sampling.temperature > 0 and req.sampling.seed is None:
            return None  # a sampled answer without a seed is not reproducible: do not pin it
        texts = [m.content for m in req.messages]
        if never_cache_reason(req.tags, texts, self.cfg.detect_pii):
            return None
        ns = self.cfg.namespace
        plan = _Plan(
            key=generation_key(req, self.base, ns),
            ttl=ttl,
            label=self._label("generate", req.tags, req.adapter.name if req.adapter else None),
        )
        sem = self.cfg.semantic
        query = semantic_query(req)
        if sem.enabled and kind in sem.kinds and query and len(query) <= sem.max_chars:
            plan.semantic = True
            plan.query = query
            plan.scope = semantic_scope(req, self.base, ns)
            plan.signature = signature(query)
        return plan

    def _plan_score(self, req: ScoreRequest) -> _Plan | None:
        ttl = self.cfg.ttl_s.get("score", self.cfg.ttl_for(req.tags.get("kind")))
        if ttl <= 0:
            return None
        texts = [m.content for m in req.messages] + [req.prefix]
        if never_cache_reason(req.tags, texts, self.cfg.detect_pii):
            return None
        return _Plan(
            key=score_key(req, self.base, self.cfg.namespace),
            ttl=ttl,
            label=self._label("score", req.tags, req.adapter.name if req.adapter else None),
        )

    # ---- the link ------------------------------------------------------------------------------
    def around(self, op: Op, requests: list[Any], call_next: CallNext) -> list[Any]:
        """Exact hits (and, for generations, semantic hits) answered here; misses go on."""
        if not self.cfg.enabled or not requests:
            return call_next(requests)
        t0 = time.perf_counter()
        ns = self.cfg.namespace
        plan_of = self._plan_generation if op == "generate" else self._plan_score
        plans = [plan_of(r) for r in requests]
        results: list[Any] = [None] * len(requests)
        counts: Counter[str] = Counter(uncacheable=sum(p is None for p in plans))
        online = True
        try:
            backend = self._get_backend()
            keyed = [(i, p) for i, p in enumerate(plans) if p is not None]
            entries = self._call(backend.get_many, ns, [p.key for _, p in keyed])
            for (i, _p), entry in zip(keyed, entries, strict=True):
                if entry is not None:
                    results[i] = self._hit(op, requests[i], entry, t0, "exact", None)
                    counts["hits_exact"] += 1
            if op == "generate":
                counts["hits_semantic"] += self._semantic_hits(requests, plans, results, t0)
        except _Bypass:
            online = False

        counts["tokens_saved"] += sum(_tokens(r) for r in results if r is not None)
        misses = [i for i, r in enumerate(results) if r is None]
        if misses:
            fresh = call_next([requests[i] for i in misses])
            for i, res in zip(misses, fresh, strict=True):
                results[i] = res
                plan = plans[i]
                if plan is None:
                    continue
                counts["misses" if online else "bypassed"] += 1
                if online and (op == "score" or self._storable(res)):
                    online = self._store(op, plan, res)
                    counts["stores"] += int(online)
        self._count(counts)
        return results

    def _semantic_hits(
        self,
        requests: list[GenerationRequest],
        plans: list[_Plan | None],
        results: list[Any],
        t0: float,
    ) -> int:
        """Fill `results` with near-duplicate answers for eligible exact misses; their count."""
        ns = self.cfg.namespace
        backend = self._get_backend()
        sem = [(i, p) for i, p in enumerate(plans) if p and results[i] is None and p.semantic]
        vectors = self._encode([p.query for _, p in sem]) if sem else None
        if vectors is None:
            return 0
        hits = 0
        for (i, p), vec in zip(sem, vectors, strict=True):
            p.vector = vec
            refs = self._call(backend.semantic_refs, ns, p.scope)
            match = best_match(vec, p.signature, refs, self.cfg.semantic.threshold)
            if match is None:
                continue
            entry = self._call(backend.get_many, ns, [match.key])[0]
            if entry is None:  # expired or cleared: drop the dangling reference
                self._call(backend.drop_semantic, ns, p.scope, match.key)
                continue
            results[i] = self._hit("generate", requests[i], entry, t0, "semantic", match.similarity)
            hits += 1
        return hits

    @staticmethod
    def _hit(
        op: Op, req: Any, entry: dict, t0: float, mode: str, similarity: float | None
    ) -> GenerationResult | ScoreResult:
        """A stored answer as this request's result (its id, the lookup's latency)."""
        data = dict(entry["result"])
        data.update(request_id=req.request_id, latency_ms=(time.perf_counter() - t0) * 1000.0)
        if op == "generate":
            data["cached"] = True
        result = (GenerationResult if op == "generate" else ScoreResult).model_validate(data)
        record_hit(
            req.request_id,
            {"mode": mode, "similarity": similarity, "tokens_saved": _tokens(result)},
        )
        return result

    @staticmethod
    def _storable(res: GenerationResult) -> bool:
        """Reusable answers only: not blocked, not errored, no HAZMAT contradiction and no
        serious guard flag (score >= 0.5). Low-score notes (e.g. `hazmat_unverified`) are kept
        with the stored answer and come back with every hit."""
        if res.blocked or not res.text.strip() or res.finish_reason in {"error", "abort"}:
            return False
        for flag in res.flags:
            if flag.get("type") == "hazmat_contradiction" or flag.get("action") == "blocked":
                return False
            try:
                if float(flag.get("score", 1.0)) >= 0.5:
                    return False
            except (TypeError, ValueError):
                return False
        return True

    def _store(self, op: Op, plan: _Plan, res: GenerationResult | ScoreResult) -> bool:
        exclude = {"request_id", "cached"} if op == "generate" else {"request_id"}
        entry = {
            "label": plan.label,
            "created": time.time(),
            "result": res.model_dump(mode="json", exclude=exclude),
        }
        try:
            backend = self._get_backend()
            self._call(backend.set, self.cfg.namespace, plan.key, entry, plan.ttl)
            if plan.semantic and plan.vector is not None:
                self._call(
                    backend.add_semantic,
                    self.cfg.namespace,
                    plan.scope,
                    plan.key,
                    plan.vector,
                    plan.signature,
                    plan.ttl,
                    self.cfg.semantic.max_entries,
                )
        except _Bypass:
            return False
        return True

    def _count(self, counts: Counter[str]) -> None:
        if not any(counts.values()):
            return
        try:
            backend = self._get_backend()
            self._call(backend.incr, {k: v for k, v in counts.items() if v})
        except _Bypass:
            pass

    def health(self) -> dict:
        try:
            backend = self._get_backend()
            self._call(backend.ping)
            return {"ok": True, "backend": backend.describe()}
        except _Bypass:
            return {"ok": False, "backend": self._describe(), "bypassing": True}

    def close(self) -> None:
        if self._backend is not None:
            with contextlib.suppress(Exception):
                self._backend.close()


def cache_link(ops: OpsConfig, model_base: str) -> CacheLink:
    """Chain factory (`ops.chain: [..., cache, ...]`)."""
    return CacheLink(ops.cache, model_base)


def cache_stats(cfg: CacheConfig) -> dict:
    """Counters, size and hit ratio of the configured backend (for `crisis-mas cache stats`)."""
    backend = open_backend(cfg)
    try:
        stats = backend.stats()
    finally:
        backend.close()
    hits = stats["hits_exact"] + stats["hits_semantic"]
    looked = hits + stats["misses"]
    return {
        "backend": backend.describe(),
        "namespace": cfg.namespace,
        **{c: stats[c] for c in COUNTERS},
        "hits": hits,
        "hit_ratio": round(hits / looked, 4) if looked else None,
        "entries": stats["entries"],
        "semantic_entries": stats["semantic_entries"],
        "bytes": stats["bytes"],
    }


def clear_cache(cfg: CacheConfig, pattern: str | None = None) -> int:
    """Delete entries whose label `namespace:op:kind:adapter:expert` matches the glob."""
    backend = open_backend(cfg)
    try:
        return backend.clear(pattern)
    finally:
        backend.close()
