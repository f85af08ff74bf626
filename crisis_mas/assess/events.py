"""Progress events of a run, for live displays (CLI progress, server-sent events, the console).

A run emits run-level stages (`expert` is None) and per-expert stages; the last event is the
decision, or `degraded` (after the decision's ranking) / `failed` (no recommendation). Sinks
must be cheap and must not raise: a failing sink is logged and ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

log = logging.getLogger("crisis_mas.assess")

Stage = Literal[
    "selected",  # run: the experts chosen
    "retrieving",  # run
    "retrieved",  # expert: passages found
    "generating",  # run: the batched model call started
    "generated",  # expert: an answer arrived (tokens, attempts, flags)
    "scoring",  # run
    "done",  # expert: status ok / fallback / failed, first choice, flags
    "checked",  # expert: grounding (claims, ungrounded items, withheld) and HAZMAT flags
    "deciding",  # run
    "decision",  # run: the recommendation (runs with status ok)
    "degraded",  # run: every expert fell back; the ranking rests on priors and criteria alone
    "failed",  # run: no expert answered (the reason); there is no recommendation
]


class ProgressEvent(BaseModel):
    """One step of a run; `detail` carries stage-specific numbers (tokens, passages, status)."""

    run_id: str
    stage: Stage
    expert: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


EventSink = Callable[[ProgressEvent], None]


def emit(sink: EventSink | None, event: ProgressEvent) -> None:
    """Deliver an event; a broken sink never breaks the run."""
    if sink is None:
        return
    try:
        sink(event)
    except Exception as err:  # pragma: no cover - defensive
        log.warning("progress sink failed on %s: %s", event.stage, err)
