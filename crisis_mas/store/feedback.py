"""Operator feedback rows (what `crisis_mas.experts.reliability` learns from)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select

from crisis_mas.store.records import FeedbackRecord
from crisis_mas.store.schema import feedback

if TYPE_CHECKING:
    from crisis_mas.store.base import Transactions


class FeedbackRepo:
    def __init__(self, store: Transactions) -> None:
        self.store = store

    def add(self, rec: FeedbackRecord) -> FeedbackRecord:
        """Store one verdict; returns it with the id the store assigned."""
        values = rec.model_dump(exclude={"id"}) | {"firsts": json.dumps(rec.firsts)}
        with self.store.write() as conn:
            fid = conn.execute(insert(feedback).values(**values)).inserted_primary_key[0]
        return rec.model_copy(update={"id": int(fid)})

    def latest(self, crisis_type: str | None = None) -> list[FeedbackRecord]:
        """The latest verdict of every run (optionally of one crisis type), oldest first."""
        newest = select(feedback.c.run_id, func.max(feedback.c.id).label("id")).group_by(
            feedback.c.run_id
        )
        q = select(feedback).where(feedback.c.id.in_(select(newest.subquery().c.id)))
        if crisis_type:
            q = q.where(feedback.c.scenario_type == crisis_type)
        with self.store.read() as conn:
            rows = conn.execute(q.order_by(feedback.c.id)).mappings().all()
        return [FeedbackRecord(**{**r, "firsts": json.loads(r["firsts"])}) for r in rows]
