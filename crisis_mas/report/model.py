"""The run report: one JSON object (also printed by `--json`); renderers in `report.markdown`
and `report.html`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from crisis_mas.coordinator.decision import Decision
from crisis_mas.experts.assessment import Assessment
from crisis_mas.experts.selection import Selection


class ModelRef(BaseModel):
    base: str
    backend: str


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
