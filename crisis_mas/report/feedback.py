"""Operator feedback on a stored run: look the run up, judge the outcome against its report, keep
the verdict (the CLI's `crisis-mas feedback` and `POST /v1/runs/{run_id}/feedback`)."""

from __future__ import annotations

from datetime import datetime

from crisis_mas.experts.reliability import Feedback, FeedbackIn, FeedbackStore, UnknownRun
from crisis_mas.report.records import report_from, run_choices
from crisis_mas.store import StoreRef, open_store


def record_feedback(
    store: StoreRef, run_id: str, fb: FeedbackIn, now: datetime | None = None
) -> Feedback:
    """Raises UnknownRun (no such run) or UnknownOutcome (not one of the run's alternatives)."""
    db = open_store(store)
    report = report_from(db.runs.get(run_id))
    if report is None:
        raise UnknownRun(f"run '{run_id}' not found in the run store")
    return FeedbackStore(db).add(run_choices(report), fb, now)
