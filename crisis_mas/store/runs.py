"""Stored runs: every report is kept, so `runs list` / `runs show` and the HTTP API read the
same history. A record holds the listing columns and the report's JSON (`Report.to_record`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import select

from crisis_mas.store.records import RunRecord, RunSummary
from crisis_mas.store.schema import runs
from crisis_mas.store.sql import upsert

if TYPE_CHECKING:
    from crisis_mas.store.base import Transactions

_SUMMARY = (
    runs.c.run_id,
    runs.c.created_at,
    runs.c.scenario_id,
    runs.c.scenario_type,
    runs.c.recommended,
    runs.c.experts,
)


class RunRepo:
    def __init__(self, store: Transactions) -> None:
        self.store = store

    def save(self, rec: RunRecord) -> None:
        """Insert or replace the run with this id (one transaction)."""
        with self.store.write() as conn:
            upsert(
                conn,
                runs,
                {
                    "run_id": rec.run_id,
                    "created_at": rec.created_at,
                    "scenario_id": rec.scenario_id,
                    "scenario_type": rec.scenario_type,
                    "recommended": rec.recommended,
                    "experts": json.dumps(rec.experts),
                    "report": rec.document,
                },
                ("run_id",),
            )

    def get(self, run_id: str) -> RunRecord | None:
        with self.store.read() as conn:
            row = conn.execute(select(*_SUMMARY, runs.c.report).where(runs.c.run_id == run_id))
            r = row.first()
        if r is None:
            return None
        return RunRecord(**_summary(r).model_dump(), document=r.report)

    def list(self, limit: int = 20, scenario_id: str | None = None) -> list[RunSummary]:
        """Newest first (creation time, then insertion order)."""
        q = select(*_SUMMARY).order_by(runs.c.created_at.desc(), runs.c.seq.desc()).limit(limit)
        if scenario_id:
            q = q.where(runs.c.scenario_id == scenario_id)
        with self.store.read() as conn:
            return [_summary(r) for r in conn.execute(q)]


def _summary(r: object) -> RunSummary:
    m = r._mapping  # type: ignore[attr-defined]
    return RunSummary(**{**m, "experts": json.loads(m["experts"])})
