"""One eval run: which suite and config, every scored report, and the aggregate metrics."""

from __future__ import annotations

from pydantic import BaseModel, Field

from crisis_mas.evals.metrics import ScenarioScore, SuiteMetrics, suite_metrics


class EvalRun(BaseModel):
    eval_id: str
    created_at: str
    suite: str
    config: str  # label of the configuration (file path or "default")
    model: str = ""  # base model / backend as reported by the pool
    adapters: dict[str, str | None] = Field(default_factory=dict)  # expert -> adapter name
    scores: list[ScenarioScore]
    wall_s: float = 0.0

    @property
    def metrics(self) -> SuiteMetrics:
        return suite_metrics(self.scores)

    def by_scenario(self) -> dict[str, list[ScenarioScore]]:
        out: dict[str, list[ScenarioScore]] = {}
        for s in self.scores:
            out.setdefault(s.scenario_id, []).append(s)
        return out
