"""`RunTracer`: the per-process Langfuse client wrapper that starts runs and records model calls.

Tracing is on only when LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are set (and
`ops.tracing.enabled`); otherwise every call is a cheap no-op. Export happens on the SDK's
background thread, so an unreachable Langfuse never blocks or fails a request, and `flush()` is
bounded by `ops.tracing.flush_timeout_s`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from crisis_mas.middleware.tracing.spans import (
    NoopRun,
    Run,
    _guard,
    _runs,
    _runs_lock,
    _truncate,
    langfuse_settings,
)
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
