"""A report as the store keeps it: the run record (listing columns + the report's JSON) and back,
and what operator feedback on the run is judged against. The store never imports `Report`."""

from __future__ import annotations

from crisis_mas.experts.reliability import RunChoices
from crisis_mas.report.model import Report
from crisis_mas.store.records import RunRecord


def run_record(report: Report) -> RunRecord:
    return RunRecord(
        run_id=report.run_id,
        created_at=report.created_at,
        scenario_id=report.scenario_id,
        scenario_type=report.scenario_type,
        recommended=report.decision.recommended,
        experts=[a.expert_id for a in report.assessments],
        document=report.model_dump_json(),
    )


def report_from(rec: RunRecord | None) -> Report | None:
    """The stored report (None when the run is unknown)."""
    return None if rec is None else Report.model_validate_json(rec.document)


def run_choices(report: Report) -> RunChoices:
    """The run's alternatives and each expert's first choice (failed experts left out)."""
    return RunChoices(
        run_id=report.run_id,
        created_at=report.created_at,
        scenario_type=report.scenario_type,
        alternatives=[r.alternative_id for r in report.decision.ranking],
        firsts={
            a.expert_id: a.recommended
            for a in report.assessments
            if a.status != "failed" and a.recommended
        },
    )
