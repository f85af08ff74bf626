"""The application wiring the CLI and the service share: an `Assessor` that serves users (adapter
rollout routing injected) and what happens to a finished run (run store + drift inputs).

Evals and shadow runs build a plain `Assessor` instead: they are never routed.
"""

from __future__ import annotations

from crisis_mas.assess import Assessor, EventSink
from crisis_mas.config import AppConfig
from crisis_mas.monitor.drift import record_input
from crisis_mas.pool.base import ModelPool
from crisis_mas.report.model import Report
from crisis_mas.report.records import run_record
from crisis_mas.rollout.live import LiveRouter
from crisis_mas.scenario import Scenario
from crisis_mas.store import open_store


def serving_assessor(
    config: AppConfig,
    pool: ModelPool | None = None,
    experts: list[str] | None = None,
    on_event: EventSink | None = None,
) -> Assessor:
    """The Assessor for user requests: canary and promoted adapters follow the registry."""
    return Assessor(
        config, pool=pool, experts=experts, on_event=on_event, router=LiveRouter(config)
    )


def persist_run(config: AppConfig, scenario: Scenario, report: Report) -> None:
    """Keep a finished run: the run store (CLI + API history) and the drift monitor's inputs.
    A failed run is stored too (its report carries `status="failed"` and the reason), but is
    no input the live traffic saw answered, so drift does not count it."""
    store = open_store(config.store)
    store.runs.save(run_record(report))
    if report.status != "failed":
        record_input(report.run_id, scenario, store)
