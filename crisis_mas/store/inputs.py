"""Scenario inputs of live runs, for data drift: the text each run was asked about."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from crisis_mas.store.records import RecentInput, ScenarioInput
from crisis_mas.store.schema import runs, scenario_inputs
from crisis_mas.store.sql import upsert

if TYPE_CHECKING:
    from crisis_mas.store.base import Transactions


class InputRepo:
    def __init__(self, store: Transactions) -> None:
        self.store = store

    def add(self, rec: ScenarioInput) -> None:
        with self.store.write() as conn:
            upsert(conn, scenario_inputs, rec.model_dump(), ("run_id",))

    def recent(self, window: int, skip_prefix: str = "") -> list[RecentInput]:
        """The newest `window` stored runs (run ids starting with `skip_prefix` left out), each
        with its scenario text when one was kept."""
        q = (
            select(
                runs.c.run_id,
                runs.c.scenario_id,
                runs.c.scenario_type,
                scenario_inputs.c.text,
                runs.c.report.label("document"),
            )
            .select_from(runs.outerjoin(scenario_inputs, scenario_inputs.c.run_id == runs.c.run_id))
            .order_by(runs.c.created_at.desc(), runs.c.seq.desc())
            .limit(window)
        )
        if skip_prefix:
            q = q.where(~runs.c.run_id.startswith(skip_prefix, autoescape=True))
        with self.store.read() as conn:
            return [RecentInput(**r._mapping) for r in conn.execute(q)]
