"""Langfuse tracing: one trace per scenario run, a span per expert, a generation per model call.

The pipeline calls the run API (`get_tracer(config).start_run(...)`, `run.expert(...)`,
`run.retrieval(...)`, `run.score(...)`, `run.end(...)`); the `trace` link turns every model call
into a generation under the right expert span, found by the request tags `run_id` + `expert`.
Tracing is on only when LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are set (and
`ops.tracing.enabled`); otherwise every call is a cheap no-op. Export happens on the SDK's
background thread, so an unreachable Langfuse never blocks or fails a request, and `flush()` is
bounded by `ops.tracing.flush_timeout_s`. Every SDK call is guarded: tracing errors are logged,
never raised.

Langfuse SDK 5 notes: trace-level attributes (session = run id, tags = scenario type + experts,
trace name) are set with `propagate_attributes`, which stamps them on the active span and every
span created inside it; we activate the parent span explicitly for each child, because experts
run as one batch and several expert spans are open at once (none of them is "current").
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from crisis_mas.middleware.chain import GenerateNext, Middleware, ScoreNext
from crisis_mas.pool.types import (
    ChatMessage,
    GenerationRequest,
    GenerationResult,
    ScoreRequest,
    ScoreResult,
)

if TYPE_CHECKING:
    from crisis_mas.middleware.config import OpsConfig

log = logging.getLogger("crisis_mas.middleware.tracing")


def langfuse_settings() -> dict[str, str] | None:
    """Public key, secret key and base URL from the standard LANGFUSE_* variables, or None."""
    public = os.environ.get("LANGFUSE_PUBLIC_KEY", "").strip()
    secret = os.environ.get("LANGFUSE_SECRET_KEY", "").strip()
    if not public or not secret:
        return None
    base = (
        os.environ.get("LANGFUSE_BASE_URL")
        or os.environ.get("LANGFUSE_HOST")
        or "https://cloud.langfuse.com"
    )
    return {"public_key": public, "secret_key": secret, "base_url": base.rstrip("/")}


@contextlib.contextmanager
def _guard(what: str) -> Iterator[None]:
    """Tracing must never break the pipeline: log and swallow any SDK error."""
    try:
        yield
    except Exception as err:  # pragma: no cover - exercised only by SDK failures
        log.warning("tracing: %s failed: %s: %s", what, type(err).__name__, err)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} chars cut]"


_HIT_FIELDS = ("doc_id", "chunk_id", "title", "source", "section", "score", "text", "url")


def _slim_hit(hit: Any) -> dict:
    """A retrieval hit (dict or pydantic model) reduced to what a trace needs."""
    data = hit.model_dump() if hasattr(hit, "model_dump") else dict(hit)
    return {
        k: (_truncate(v, 300) if isinstance(v, str) else v)
        for k, v in data.items()
        if k in _HIT_FIELDS and isinstance(v, (str, int, float, bool, type(None)))
    }


class _NoopExpert:
    id: str | None = None

    def end(self, output: Any = None) -> None:
        """Nothing to end."""


# Open runs by run id, process-wide: the pipeline and the trace link may hold different tracers.
_runs: dict[str, Run] = {}
_runs_lock = threading.Lock()


class NoopRun:
    """What `start_run` returns when tracing is off: every method does nothing."""

    trace_id: str | None = None
    run_id = ""

    def expert(self, expert_id: str) -> _NoopExpert:
        return _NoopExpert()

    def retrieval(self, expert_id: str, query: str, hits: list[dict], latency_ms: float) -> None:
        """Tracing is off."""

    def score(
        self,
        name: str,
        value: float | bool | str,
        comment: str | None = None,
        expert_id: str | None = None,
    ) -> None:
        """Tracing is off."""

    def end(self, output: dict | None = None, flush: bool = True) -> None:
        """Tracing is off."""

    def __enter__(self) -> NoopRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()


class ExpertSpan:
    """An expert's span inside a run; generations of that expert are parented under it."""

    def __init__(self, run: Run, expert_id: str, obs: Any) -> None:
        self.run = run
        self.expert_id = expert_id
        self.obs = obs
        self.id: str | None = getattr(obs, "id", None)
        self.ended = False

    def end(self, output: Any = None) -> None:
        if self.ended:
            return
        self.ended = True
        with _guard("expert span end"):
            if output is not None:
                self.obs.update(output=output)
            self.obs.end()


class Run:
    """One scenario run = one Langfuse trace (session id = run id)."""

    def __init__(
        self,
        tracer: RunTracer,
        run_id: str,
        scenario_id: str,
        scenario_type: str,
        experts: list[str],
    ) -> None:
        from langfuse import Langfuse

        self.tracer = tracer
        self.run_id = run_id
        self.trace_id: str | None = Langfuse.create_trace_id(seed=run_id)
        self._experts: dict[str, ExpertSpan] = {}
        self._lock = threading.Lock()
        self.ended = False
        self.attrs = {
            "session_id": run_id[:200],
            "tags": [t for t in [scenario_type, *experts] if t],
            "trace_name": f"crisis-run {scenario_id}"[:200],
            "metadata": {
                "run_id": run_id[:180],
                "scenario_id": scenario_id[:180],
                "scenario_type": scenario_type[:180],
            },
        }
        client = tracer.client
        self.root: Any = None
        with _guard("run start"), self._context(None):
            self.root = client.start_observation(
                trace_context={"trace_id": self.trace_id},
                name="crisis-run",
                as_type="agent",
                input={
                    "run_id": run_id,
                    "scenario_id": scenario_id,
                    "scenario_type": scenario_type,
                    "experts": experts,
                },
            )

    @contextlib.contextmanager
    def _context(self, parent: Any) -> Iterator[None]:
        """Isolate from the caller's context, activate `parent`, propagate trace attributes."""
        from langfuse import propagate_attributes
        from opentelemetry import context as otel_context
        from opentelemetry import trace as otel_trace

        token = otel_context.attach(otel_context.Context())
        try:
            with contextlib.ExitStack() as stack:
                if parent is not None:
                    stack.enter_context(otel_trace.use_span(parent._otel_span, end_on_exit=False))
                stack.enter_context(propagate_attributes(**self.attrs))
                yield
        finally:
            otel_context.detach(token)

    def child(self, parent: Any, **kwargs: Any) -> Any:
        """A new observation under `parent` carrying the run's trace attributes."""
        with self._context(parent):
            return parent.start_observation(**kwargs)

    def expert(self, expert_id: str) -> ExpertSpan | _NoopExpert:
        """The expert's span (started on first use; several can be open at once)."""
        with self._lock:
            span = self._experts.get(expert_id)
            if span is not None:
                return span
            if self.root is None or self.ended:
                return _NoopExpert()
            try:
                obs = self.child(
                    self.root,
                    name=f"expert:{expert_id}",
                    as_type="agent",
                    metadata={"expert": expert_id},
                )
            except Exception as err:
                log.warning("tracing: expert span failed: %s", err)
                return _NoopExpert()
            span = ExpertSpan(self, expert_id, obs)
            self._experts[expert_id] = span
            return span

    def parent_for(self, expert_id: str | None) -> Any:
        if expert_id:
            span = self.expert(expert_id)
            if isinstance(span, ExpertSpan) and not span.ended:
                return span.obs
        return self.root

    def retrieval(self, expert_id: str, query: str, hits: list[dict], latency_ms: float) -> None:
        """A retriever span under the expert, back-dated so it covers the search itself."""
        if self.root is None:
            return
        with _guard("retrieval span"):
            parent = self.parent_for(expert_id)
            limit = self.tracer.ops.tracing.max_io_chars
            slim = [_slim_hit(h) for h in hits]
            end_ns = time.time_ns()
            start_ns = end_ns - int(latency_ms * 1e6)
            obs = self._backdated(
                parent,
                start_ns,
                name="retrieval",
                as_type="retriever",
                input={"query": _truncate(query, limit), "expert": expert_id},
                output={"hits": slim, "count": len(hits)},
                metadata={"latency_ms": round(latency_ms, 2), "expert": expert_id},
            )
            obs.end(end_time=end_ns)

    def _backdated(self, parent: Any, start_ns: int, **kwargs: Any) -> Any:
        """Like `child`, with an explicit start time (SDK 5.0.4 internals; falls back to now)."""
        try:
            from langfuse._client.span import _OBSERVATION_CLASS_MAP
            from opentelemetry import trace as otel_trace

            cls = _OBSERVATION_CLASS_MAP[kwargs.pop("as_type")]
            client = self.tracer.client
            with self._context(parent), otel_trace.use_span(parent._otel_span, end_on_exit=False):
                span = client._otel_tracer.start_span(name=kwargs.pop("name"), start_time=start_ns)
            return cls(otel_span=span, langfuse_client=client, **kwargs)
        except Exception:
            return self.child(parent, **kwargs)

    def score(
        self,
        name: str,
        value: float | bool | str,
        comment: str | None = None,
        expert_id: str | None = None,
    ) -> None:
        """A score on the trace, or on the expert's span when `expert_id` is given."""
        observation_id = None
        if expert_id:
            span = self.expert(expert_id)
            observation_id = span.id
        self.tracer.score(
            name, value, trace_id=self.trace_id, observation_id=observation_id, comment=comment
        )

    def end(self, output: dict | None = None, flush: bool = True) -> None:
        """Close open expert spans and the run; flush within `flush_timeout_s` if asked."""
        if self.ended:
            return
        self.ended = True
        for span in list(self._experts.values()):
            span.end()
        with _guard("run end"):
            if self.root is not None:
                if output is not None:
                    self.root.update(output=output)
                self.root.end()
        self.tracer.forget(self.run_id)
        if flush:
            self.tracer.flush()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc is not None and self.root is not None:
            with _guard("run error"):
                self.root.update(level="ERROR", status_message=str(exc)[:500])
        self.end()


class RunTracer:
    """Per-process tracer: creates runs, records generations and scores, flushes bounded."""

    def __init__(self, ops: OpsConfig, model_base: str, client: Any = None) -> None:
        self.ops = ops
        self.model_base = model_base
        self.client = client

    @property
    def enabled(self) -> bool:
        return self.client is not None

    # ---- runs ------------------------------------------------------------------------------
    def start_run(
        self, run_id: str, scenario_id: str, scenario_type: str, experts: list[str]
    ) -> Run | NoopRun:
        if not self.enabled:
            return NoopRun()
        try:
            run = Run(self, run_id, scenario_id, scenario_type, list(experts))
        except Exception as err:
            log.warning("tracing: could not start run %s: %s", run_id, err)
            return NoopRun()
        with _runs_lock:
            _runs[run_id] = run
        return run

    def run(self, run_id: str | None) -> Run | None:
        """The open run with this id (shared by every tracer in the process)."""
        if not run_id:
            return None
        with _runs_lock:
            return _runs.get(run_id)

    def forget(self, run_id: str) -> None:
        with _runs_lock:
            _runs.pop(run_id, None)

    # ---- generations -------------------------------------------------------------------------
    def _io(self, messages: list[ChatMessage]) -> list[dict] | None:
        cfg = self.ops.tracing
        if not cfg.capture_io:
            return None
        return [
            {"role": m.role, "content": _truncate(m.content, cfg.max_io_chars)} for m in messages
        ]

    def start_generation(self, req: GenerationRequest | ScoreRequest, op: str) -> Any:
        """Open a generation for one model call (None if tracing fails)."""
        try:
            tags = req.tags
            expert = tags.get("expert")
            name = f"{expert or 'model'}.{tags.get('kind', 'call')}"
            if op == "score":
                name += ".score"
            adapter = req.adapter.name if req.adapter else None
            kwargs: dict[str, Any] = {
                "name": name,
                "as_type": "generation",
                "model": self.model_base,
                "input": self._io(req.messages),
                "metadata": {
                    "request_id": req.request_id,
                    "op": op,
                    "adapter": adapter,
                    "adapter_id": req.adapter.id if req.adapter else None,
                    "expert": expert,
                    "kind": tags.get("kind"),
                    "prompt_version": tags.get("prompt_version"),
                    "kb_version": tags.get("kb_version"),
                },
            }
            if isinstance(req, GenerationRequest):
                kwargs["model_parameters"] = {
                    k: v
                    for k, v in req.sampling.model_dump().items()
                    if isinstance(v, (int, float, str)) and not isinstance(v, bool)
                }
            run = self.run(tags.get("run_id"))
            if run is not None and not run.ended:
                return run.child(run.parent_for(expert), **kwargs)
            return self._standalone(**kwargs)
        except Exception as err:
            log.warning("tracing: generation start failed: %s", err)
            return None

    def _standalone(self, **kwargs: Any) -> Any:
        """A model call outside any run (chat, benchmarks): its own one-observation trace."""
        from opentelemetry import context as otel_context

        token = otel_context.attach(otel_context.Context())
        try:
            return self.client.start_observation(**kwargs)
        finally:
            otel_context.detach(token)

    def finish_generation(
        self, gen: Any, req: GenerationRequest | ScoreRequest, res: GenerationResult | ScoreResult
    ) -> None:
        if gen is None:
            return
        with _guard("generation end"):
            from crisis_mas.middleware.cache import hit_info

            info = hit_info(res.request_id) or {}
            cached = bool(getattr(res, "cached", False) or info)
            pt = res.prompt_tokens
            ct = getattr(res, "completion_tokens", 0)
            cost = self.ops.metrics.cost(pt, ct)
            meta: dict[str, Any] = {"cache_hit": cached, "latency_ms": round(res.latency_ms, 2)}
            if cached:
                meta["cache_mode"] = info.get("mode", "exact")
                if info.get("similarity") is not None:
                    meta["cache_similarity"] = round(float(info["similarity"]), 4)
                meta["cost_saved_usd"] = round(cost, 8)
                cost = 0.0
            update: dict[str, Any] = {
                "usage_details": {"input": pt, "output": ct, "total": pt + ct},
                "cost_details": {"total": round(cost, 8)},
                "metadata": meta,
            }
            if isinstance(res, GenerationResult):
                meta.update(
                    finish_reason=res.finish_reason, blocked=res.blocked, flags=len(res.flags)
                )
                if self.ops.tracing.capture_io:
                    update["output"] = _truncate(res.text, self.ops.tracing.max_io_chars)
                if res.blocked:
                    update["level"] = "WARNING"
                    update["status_message"] = "blocked by guardrail"
            else:
                update["output"] = {"logprobs": res.logprobs, "token_counts": res.token_counts}
            gen.update(**update)
            gen.end()
            if isinstance(res, GenerationResult):
                self._flag_scores(gen, res)

    def fail_generation(self, gen: Any, err: BaseException) -> None:
        if gen is None:
            return
        with _guard("generation error"):
            gen.update(level="ERROR", status_message=f"{type(err).__name__}: {err}"[:500])
            gen.end()

    def _flag_scores(self, gen: Any, res: GenerationResult) -> None:
        """Guard blocks, guard flags and HAZMAT verdicts in result flags become scores."""
        if res.blocked:
            self.score(
                "guard_block",
                1.0,
                trace_id=gen.trace_id,
                observation_id=gen.id,
                comment=_truncate(res.text, 300),
            )
        for flag in res.flags:
            ftype = str(flag.get("type", "flag"))
            # HAZMAT verdicts keep their own names; everything else is a guardrail flag.
            name = ftype if ftype.startswith("hazmat") else f"guard.{ftype}"
            comment = flag.get("message") or flag.get("detail") or flag.get("reason")
            self.score(
                name,
                1.0,
                trace_id=gen.trace_id,
                observation_id=gen.id,
                comment=_truncate(str(comment), 300) if comment else None,
            )

    # ---- scores and flushing -------------------------------------------------------------
    def score(
        self,
        name: str,
        value: float | bool | str,
        *,
        trace_id: str | None,
        observation_id: str | None = None,
        comment: str | None = None,
    ) -> None:
        if not self.enabled or not trace_id:
            return
        with _guard("score"):
            if isinstance(value, bool):
                kwargs: dict[str, Any] = {"value": 1.0 if value else 0.0, "data_type": "BOOLEAN"}
            elif isinstance(value, (int, float)):
                kwargs = {"value": float(value), "data_type": "NUMERIC"}
            else:
                kwargs = {"value": str(value), "data_type": "CATEGORICAL"}
            self.client.create_score(
                name=name,
                trace_id=trace_id,
                observation_id=observation_id,
                comment=comment,
                **kwargs,
            )

    def flush(self, timeout_s: float | None = None) -> bool:
        """Send what is buffered; gives up waiting after `timeout_s` (export continues)."""
        if not self.enabled:
            return True
        timeout = self.ops.tracing.flush_timeout_s if timeout_s is None else timeout_s
        worker = threading.Thread(target=self._flush_quietly, name="langfuse-flush", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            log.warning(
                "tracing: flush did not finish within %.1f s (Langfuse unreachable?); "
                "continuing without waiting",
                timeout,
            )
            return False
        return True

    def _flush_quietly(self) -> None:
        with _guard("flush"):
            self.client.flush()


_tracers: dict[tuple, RunTracer] = {}
_tracers_lock = threading.Lock()


def _make_client(settings: dict[str, str], ops: OpsConfig) -> Any:
    from langfuse import Langfuse
    from opentelemetry.sdk.trace import TracerProvider

    timeout = int(os.environ.get("LANGFUSE_TIMEOUT") or ops.tracing.timeout_s)
    # Our own provider: never replace the process-wide OTel provider of the host application.
    return Langfuse(
        public_key=settings["public_key"],
        secret_key=settings["secret_key"],
        base_url=settings["base_url"],
        timeout=timeout,
        tracer_provider=TracerProvider(),
    )


def get_tracer(ops: OpsConfig, model_base: str) -> RunTracer:
    """The tracer for the current LANGFUSE_* settings (a no-op tracer when keys are unset)."""
    settings = langfuse_settings() if ops.tracing.enabled else None
    key = (tuple(sorted(settings.items())) if settings else None, id(ops), model_base)
    with _tracers_lock:
        tracer = _tracers.get(key)
        if tracer is None:
            client = None
            if settings:
                try:
                    client = _make_client(settings, ops)
                except Exception as err:
                    log.warning("tracing: Langfuse client failed to start: %s", err)
            tracer = RunTracer(ops, model_base, client)
            _tracers[key] = tracer
        return tracer


def shutdown_tracers(timeout_s: float = 2.0) -> None:
    """Flush and stop every Langfuse client (process exit, tests), waiting at most `timeout_s`."""
    with _tracers_lock:
        clients = {id(t.client): t.client for t in _tracers.values() if t.client is not None}
        _tracers.clear()
    threads = []
    for client in clients.values():

        def stop(c: Any = client) -> None:
            with _guard("shutdown"):
                c.shutdown()

        th = threading.Thread(target=stop, name="langfuse-shutdown", daemon=True)
        th.start()
        threads.append(th)
    deadline = time.monotonic() + timeout_s
    for th in threads:
        th.join(max(0.0, deadline - time.monotonic()))


class TraceLink(Middleware):
    """Makes one Langfuse generation per model call, parented under the run's expert span."""

    name = "trace"

    def __init__(self, ops: OpsConfig, model_base: str) -> None:
        self.tracer = get_tracer(ops, model_base)

    def generate(
        self, requests: list[GenerationRequest], next: GenerateNext
    ) -> list[GenerationResult]:
        if not self.tracer.enabled:
            return next(requests)
        gens = [self.tracer.start_generation(r, "generate") for r in requests]
        try:
            results = next(requests)
        except BaseException as err:
            for g in gens:
                self.tracer.fail_generation(g, err)
            raise
        for g, req, res in zip(gens, requests, results, strict=False):
            self.tracer.finish_generation(g, req, res)
        return results

    def score(self, requests: list[ScoreRequest], next: ScoreNext) -> list[ScoreResult]:
        if not self.tracer.enabled:
            return next(requests)
        gens = [self.tracer.start_generation(r, "score") for r in requests]
        try:
            results = next(requests)
        except BaseException as err:
            for g in gens:
                self.tracer.fail_generation(g, err)
            raise
        for g, req, res in zip(gens, requests, results, strict=False):
            self.tracer.finish_generation(g, req, res)
        return results

    def health(self) -> dict:
        return {"ok": True, "enabled": self.tracer.enabled}

    def close(self) -> None:
        self.tracer.flush()


def trace_link(ops: OpsConfig, model_base: str) -> TraceLink:
    """Chain factory (`ops.chain: [trace, ...]`)."""
    return TraceLink(ops, model_base)
