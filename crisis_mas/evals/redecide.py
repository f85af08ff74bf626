"""Re-decide a stored eval run with the current coordinator, without calling any model.

Each stored report keeps every expert's assessment (beliefs included), so a change to the
coordinator or the doctrine rules can be measured on the very same answers: the decision is
recomputed from the stored assessments and the scenario, and the run is scored again. The result
is a new eval run labelled `<config>+redecided`, stored like any other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from crisis_mas.evals.labels import load_suite
from crisis_mas.evals.metrics import score_report
from crisis_mas.evals.results import EvalRun

if TYPE_CHECKING:
    from crisis_mas.config import AppConfig


def redecide(run: EvalRun, config: AppConfig, new_id: str) -> EvalRun:
    """The stored run's reports with their decisions recomputed, scored against the suite."""
    from crisis_mas.assess.outcome import degraded_decision
    from crisis_mas.coordinator.decision import decide
    from crisis_mas.experts.profiles import load_profiles
    from crisis_mas.report.records import report_from
    from crisis_mas.store import open_store

    items = {x.scenario.id: x for x in load_suite(run.suite)}
    runs = open_store(config.store).runs
    cost = config.ops.metrics
    scores = []
    for s in run.scores:
        report = report_from(runs.get(s.run_id))
        item = items.get(s.scenario_id)
        if report is None or item is None or report.status == "failed":
            scores.append(s)
            continue
        relevance = {x.expert_id: x.relevance for x in report.experts}
        decision = decide(
            item.scenario, report.assessments, load_profiles(), relevance, config.aggregation
        )
        if report.status == "degraded":
            decision = degraded_decision(decision)
        scores.append(
            score_report(
                report.model_copy(update={"decision": decision}),
                item.labels,
                cost.cost_per_1k_prompt_tokens,
                cost.cost_per_1k_completion_tokens,
                item.scenario,
            )
        )
    return run.model_copy(
        update={
            "eval_id": new_id,
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "config": f"{run.config}+redecided",
            "scores": scores,
        }
    )
