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

from crisis_mas.middleware.tracing.spans import NoopRun, Run, langfuse_settings
from crisis_mas.middleware.tracing.tracer import RunTracer, get_tracer, shutdown_tracers

__all__ = ["NoopRun", "Run", "RunTracer", "get_tracer", "langfuse_settings", "shutdown_tracers"]
