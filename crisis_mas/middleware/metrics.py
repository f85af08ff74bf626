"""Prometheus metrics per expert, and a persistent event log the alert rules evaluate.

The `metrics` link counts every model call (requests, errors, latency, tokens, cache hits, guard
blocks, HAZMAT contradictions, estimated cost) in one module-level registry, exposed as text by
`metrics_text()` for a `/metrics` endpoint. Prometheus counters die with the process, so each
call is also appended to the event log in the store (`crisis_mas.store.events`): that is what
`crisis-mas health --alerts` reads, across CLI runs and processes. Recording never fails a request.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from crisis_mas.middleware.chain import CallNext, Middleware, Op
from crisis_mas.store import Store, open_store
from crisis_mas.store.events import EventLog

if TYPE_CHECKING:
    from crisis_mas.middleware.config import MetricsConfig, OpsConfig

log = logging.getLogger("crisis_mas.middleware.metrics")

HAZMAT_FLAG = "hazmat_contradiction"

REGISTRY = CollectorRegistry(auto_describe=True)
_L = ("expert", "kind")

REQUESTS = Counter(
    "crisis_mas_model_requests", "Model calls (generate and score).", (*_L, "op"), registry=REGISTRY
)
ERRORS = Counter(
    "crisis_mas_model_errors",
    "Model calls that raised or ended in error.",
    (*_L, "op"),
    registry=REGISTRY,
)
LATENCY = Histogram(
    "crisis_mas_model_latency_seconds",
    "Latency per model call as the caller sees it.",
    (*_L, "cached"),
    registry=REGISTRY,
    buckets=(0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120),
)
TOKENS = Counter(
    "crisis_mas_model_tokens",
    "Tokens processed by the model (cache hits excluded).",
    ("expert", "direction"),
    registry=REGISTRY,
)
TOKENS_SAVED = Counter(
    "crisis_mas_cache_tokens_saved",
    "Tokens answered from the cache.",
    ("expert",),
    registry=REGISTRY,
)
CACHE_HITS = Counter(
    "crisis_mas_cache_hits", "Model calls answered from the cache.", ("expert",), registry=REGISTRY
)
CACHE_LOOKUPS = Counter(
    "crisis_mas_cache_lookups",
    "Model calls that passed the cache link.",
    ("expert",),
    registry=REGISTRY,
)
CACHE_HIT_RATIO = Gauge(
    "crisis_mas_cache_hit_ratio",
    "Cache hits / calls since process start.",
    ("expert",),
    registry=REGISTRY,
)
GUARD_BLOCKS = Counter(
    "crisis_mas_guard_blocks", "Calls blocked by a guardrail.", ("expert",), registry=REGISTRY
)
GUARD_FLAGS = Counter(
    "crisis_mas_guard_flags",
    "Guardrail flags on answers (not blocks).",
    ("expert", "type"),
    registry=REGISTRY,
)
HAZMAT = Counter(
    "crisis_mas_hazmat_contradictions",
    "Answers contradicting HAZMAT reference data.",
    ("expert",),
    registry=REGISTRY,
)
COST = Counter(
    "crisis_mas_cost_usd", "Estimated inference cost (USD).", ("expert",), registry=REGISTRY
)


def metrics_text() -> tuple[bytes, str]:
    """The registry in Prometheus text format, with its content type (for `/metrics`)."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# ---- persistent event log (in the store) ------------------------------------------------------
def event_store(cfg: MetricsConfig) -> Store:
    """The store with the event log and the alerts' throttle state: the deployment's store, or a
    SQLite file of its own when the deprecated `events_path` is set."""
    return open_store(cfg.events_path or cfg.store)


_pruned: set[str] = set()
_pruned_lock = threading.Lock()


def event_log(cfg: MetricsConfig) -> EventLog:
    """The event log; events past `retention_days` are dropped once per process and store."""
    store = event_store(cfg)
    with _pruned_lock:
        first = store.url not in _pruned
        _pruned.add(store.url)
    if first:
        store.events.prune(time.time() - cfg.retention_days * 86400)
    return store.events


# ---- the link --------------------------------------------------------------------------------
class MetricsLink(Middleware):
    """Counts every call per expert into Prometheus and the event log."""

    name = "metrics"

    def __init__(self, cfg: MetricsConfig) -> None:
        self.cfg = cfg
        self._log: EventLog | None = None
        self._log_failed = False

    def _event_log(self) -> EventLog | None:
        if self._log is None and not self._log_failed:
            try:
                self._log = event_log(self.cfg)
            except Exception as err:
                self._log_failed = True
                log.warning("metrics: event log unavailable (%s); alerts will not see calls", err)
        return self._log

    def around(self, op: Op, requests: list[Any], call_next: CallNext) -> list[Any]:
        if not self.cfg.enabled:
            return call_next(requests)
        t0 = time.perf_counter()
        try:
            results = call_next(requests)
        except BaseException:
            self._record_failure(requests, op, time.perf_counter() - t0)
            raise
        wall_ms = (time.perf_counter() - t0) * 1000.0
        try:
            self._record(requests, results, op, wall_ms)
        except Exception as err:  # pragma: no cover - defensive
            log.warning("metrics: recording failed: %s", err)
        return results

    def _record(self, requests: list, results: list, op: str, wall_ms: float) -> None:
        from crisis_mas.middleware.cache import hit_info

        now = time.time()
        events = []
        touched: set[str] = set()
        for req, res in zip(requests, results, strict=False):
            expert = req.tags.get("expert") or "none"
            kind = req.tags.get("kind") or ("score" if op == "score" else "unknown")
            touched.add(expert)
            cached = bool(getattr(res, "cached", False) or hit_info(res.request_id))
            blocked = bool(getattr(res, "blocked", False))
            flags = list(getattr(res, "flags", []) or [])
            hazmat = sum(1 for f in flags if f.get("type") == HAZMAT_FLAG)
            error = getattr(res, "finish_reason", None) == "error"
            pt = int(res.prompt_tokens)
            ct = int(getattr(res, "completion_tokens", 0))
            latency_ms = res.latency_ms if res.latency_ms > 0 else wall_ms
            cost = 0.0 if cached or blocked else self.cfg.cost(pt, ct)

            REQUESTS.labels(expert, kind, op).inc()
            if error:
                ERRORS.labels(expert, kind, op).inc()
            LATENCY.labels(expert, kind, str(cached).lower()).observe(latency_ms / 1000.0)
            CACHE_LOOKUPS.labels(expert).inc()
            if cached:
                CACHE_HITS.labels(expert).inc()
                TOKENS_SAVED.labels(expert).inc(pt + ct)
            elif not blocked:
                TOKENS.labels(expert, "prompt").inc(pt)
                TOKENS.labels(expert, "completion").inc(ct)
                COST.labels(expert).inc(cost)
            if blocked:
                GUARD_BLOCKS.labels(expert).inc()
            if hazmat:
                HAZMAT.labels(expert).inc(hazmat)
            for f in flags:
                if not str(f.get("type", "")).startswith("hazmat"):
                    GUARD_FLAGS.labels(expert, str(f.get("type", "flag"))).inc()
            events.append(
                {
                    "ts": now,
                    "expert": expert,
                    "kind": kind,
                    "op": op,
                    "run_id": req.tags.get("run_id"),
                    "latency_ms": latency_ms,
                    "prompt_tokens": pt,
                    "completion_tokens": ct,
                    "cached": int(cached),
                    "error": int(error),
                    "blocked": int(blocked),
                    "hazmat": hazmat,
                    "flags": len(flags),
                    "cost": cost,
                }
            )
        for expert in touched:
            _update_ratio(expert)
        self._write(events)

    def _record_failure(self, requests: list, op: str, wall_s: float) -> None:
        try:
            now = time.time()
            events = []
            for req in requests:
                expert = req.tags.get("expert") or "none"
                kind = req.tags.get("kind") or ("score" if op == "score" else "unknown")
                REQUESTS.labels(expert, kind, op).inc()
                ERRORS.labels(expert, kind, op).inc()
                LATENCY.labels(expert, kind, "false").observe(wall_s)
                events.append(
                    {
                        "ts": now,
                        "expert": expert,
                        "kind": kind,
                        "op": op,
                        "run_id": req.tags.get("run_id"),
                        "latency_ms": wall_s * 1000,
                        "prompt_tokens": 0,
                        "completion_tokens": 0,
                        "cached": 0,
                        "error": 1,
                        "blocked": 0,
                        "hazmat": 0,
                        "flags": 0,
                        "cost": 0.0,
                    }
                )
            self._write(events)
        except Exception as err:  # pragma: no cover - defensive
            log.warning("metrics: recording failure failed: %s", err)

    def _write(self, events: list[dict]) -> None:
        ev_log = self._event_log()
        if ev_log is None or not events:
            return
        try:
            ev_log.record(events)
        except Exception as err:
            log.warning("metrics: could not write the event log: %s", err)

    def health(self) -> dict:
        ev_log = self._event_log()
        return {"ok": ev_log is not None, "events": ev_log.where if ev_log else None}


def _update_ratio(expert: str) -> None:
    looked = CACHE_LOOKUPS.labels(expert)._value.get()
    hits = CACHE_HITS.labels(expert)._value.get()
    CACHE_HIT_RATIO.labels(expert).set(hits / looked if looked else 0.0)


def metrics_link(ops: OpsConfig, model_base: str) -> MetricsLink:
    """Chain factory (`ops.chain: [..., metrics, ...]`)."""
    return MetricsLink(ops.metrics)
