"""Stored eval runs (`EvalRun.to_record`), and the reference eval per suite that concept drift
compares fresh runs against."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from crisis_mas.store.records import EvalRecord
from crisis_mas.store.schema import eval_reference, eval_runs
from crisis_mas.store.sql import upsert

if TYPE_CHECKING:
    from crisis_mas.store.base import Transactions

_COLS = (
    eval_runs.c.eval_id,
    eval_runs.c.created_at,
    eval_runs.c.suite,
    eval_runs.c.config,
    eval_runs.c.top1_acceptable_rate,
    eval_runs.c.run.label("document"),
)


class EvalRepo:
    def __init__(self, store: Transactions) -> None:
        self.store = store

    def save(self, rec: EvalRecord) -> None:
        values = rec.model_dump(exclude={"document"}) | {"run": rec.document}
        with self.store.write() as conn:
            upsert(conn, eval_runs, values, ("eval_id",))

    def get(self, eval_id: str) -> EvalRecord | None:
        with self.store.read() as conn:
            r = conn.execute(select(*_COLS).where(eval_runs.c.eval_id == eval_id)).first()
        return EvalRecord(**r._mapping) if r else None

    def list(self, suite: str | None = None, limit: int = 20) -> list[EvalRecord]:
        """Newest first."""
        q = select(*_COLS).order_by(eval_runs.c.created_at.desc(), eval_runs.c.seq.desc())
        if suite:
            q = q.where(eval_runs.c.suite == suite)
        with self.store.read() as conn:
            return [EvalRecord(**r._mapping) for r in conn.execute(q.limit(limit))]

    def set_reference(self, suite: str, eval_id: str) -> None:
        with self.store.write() as conn:
            upsert(conn, eval_reference, {"suite": suite, "eval_id": eval_id}, ("suite",))

    def reference(self, suite: str) -> EvalRecord | None:
        q = select(eval_reference.c.eval_id).where(eval_reference.c.suite == suite)
        with self.store.read() as conn:
            eval_id = conn.execute(q).scalar()
        return self.get(eval_id) if eval_id else None
