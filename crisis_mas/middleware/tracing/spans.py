"""Langfuse spans of one scenario run: the trace, a span per expert, retrieval and scores.

Langfuse SDK 5 notes: trace-level attributes (session = run id, tags = scenario type + experts,
trace name) are set with `propagate_attributes`, which stamps them on the active span and every
span created inside it; we activate the parent span explicitly for each child, because experts
run as one batch and several expert spans are open at once (none of them is "current").
Every SDK call is guarded: tracing errors are logged, never raised.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

log = logging.getLogger("crisis_mas.middleware.tracing")


class RunOwner(Protocol):
    """What a `Run` needs from the tracer that started it (`tracer.RunTracer`)."""

    client: Any
    ops: Any

    def score(
        self,
        name: str,
        value: float | bool | str,
        *,
        trace_id: str | None,
        observation_id: str | None = None,
        comment: str | None = None,
    ) -> None: ...

    def forget(self, run_id: str) -> None: ...

    def flush(self, timeout_s: float | None = None) -> bool: ...


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
        tracer: RunOwner,
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
