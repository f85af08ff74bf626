"""One eval run: which suite and config, every scored report, and the aggregate metrics."""

from __future__ import annotations

from pydantic import BaseModel, Field

from crisis_mas.evals.metrics import ScenarioScore, SuiteMetrics, suite_metrics
from crisis_mas.store.records import EvalRecord


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

    def to_record(self) -> EvalRecord:
        """The store's row: suite, config and top-1 accuracy as columns, this run as JSON."""
        return EvalRecord(
            eval_id=self.eval_id,
            created_at=self.created_at,
            suite=self.suite,
            config=self.config,
            top1_acceptable_rate=self.metrics.top1_acceptable_rate,
            document=self.model_dump_json(),
        )

    @classmethod
    def from_record(cls, rec: EvalRecord | None) -> EvalRun | None:
        return None if rec is None else cls.model_validate_json(rec.document)

    def by_scenario(self) -> dict[str, list[ScenarioScore]]:
        out: dict[str, list[ScenarioScore]] = {}
        for s in self.scores:
            out.setdefault(s.scenario_id, []).append(s)
        return out
