"""The run report: one JSON object (also printed by `--json`); renderers in `report.markdown`
and `report.html`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from crisis_mas.coordinator.decision import Decision
from crisis_mas.experts.assessment import Assessment, Citation
from crisis_mas.experts.selection import Selection

# ok: at least one expert answered; degraded: every expert that did not fail fell back (the
# decision rests on doctrine priors and criteria scores alone); failed: no expert answered.
RunStatus = Literal["ok", "degraded", "failed"]


class ModelRef(BaseModel):
    base: str
    backend: str


class SummaryItem(BaseModel):
    """One concern or action shown in the commander's summary, and whose it is."""

    expert_id: str
    text: str


class CommanderSummary(BaseModel):
    """The decision-level concerns and actions: only items whose every place, service, unit,
    resource and figure is grounded; the rest stay in their expert's raw text, flagged."""

    concerns: list[SummaryItem] = Field(default_factory=list)
    actions: list[SummaryItem] = Field(default_factory=list)
    withheld: int = 0  # items held back because something in them is ungrounded


class GroundingStats(BaseModel):
    """One expert's final answer under the grounding check."""

    claims: int = 0
    grounded: int = 0
    rate: float | None = None  # grounded / claims; None without claims
    ungrounded: list[str] = Field(default_factory=list)
    withheld_items: int = 0
    requeried: bool = False


class Report(BaseModel):
    scenario_id: str
    scenario_name: str
    scenario_type: str
    run_id: str
    created_at: str
    model: ModelRef
    experts: list[Selection]
    assessments: list[Assessment]
    decision: Decision
    warnings: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    status: RunStatus = "ok"
    status_reason: str | None = None  # why the run failed or is degraded
    # One line shown with every report made on the embedded demonstration model.
    notice: str | None = None
    summary: CommanderSummary = Field(default_factory=CommanderSummary)
    grounding: dict[str, GroundingStats] = Field(default_factory=dict)
    # Every knowledge-base document the experts read, once (per-expert citations are unique too).
    sources: list[Citation] = Field(default_factory=list)
