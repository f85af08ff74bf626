"""The `trace` chain link: one Langfuse generation per model call, under its expert's span
(found by the request tags `run_id` + `expert`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crisis_mas.middleware.chain import CallNext, Middleware, Op
from crisis_mas.middleware.tracing.tracer import get_tracer

if TYPE_CHECKING:
    from crisis_mas.middleware.config import OpsConfig


class TraceLink(Middleware):
    """Makes one Langfuse generation per model call, parented under the run's expert span."""

    name = "trace"

    def __init__(self, ops: OpsConfig, model_base: str) -> None:
        self.tracer = get_tracer(ops, model_base)

    def around(self, op: Op, requests: list[Any], call_next: CallNext) -> list[Any]:
        if not self.tracer.enabled:
            return call_next(requests)
        gens = [self.tracer.start_generation(r, op) for r in requests]
        try:
            results = call_next(requests)
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
