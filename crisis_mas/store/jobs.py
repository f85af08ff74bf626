"""Async assessment jobs: any ingress replica (any node sharing the store) can answer for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update

from crisis_mas.store.records import JobRecord
from crisis_mas.store.schema import jobs

if TYPE_CHECKING:
    from crisis_mas.store.base import Transactions

J = jobs.c
UNFINISHED = ("queued", "running")


class JobRepo:
    def __init__(self, store: Transactions) -> None:
        self.store = store

    def create(self, rec: JobRecord) -> None:
        with self.store.write() as conn:
            conn.execute(insert(jobs).values(**rec.model_dump()))

    def update(
        self,
        job_id: str,
        status: str,
        updated_at: float,
        run_id: str | None = None,
        error: str | None = None,
        error_status: int | None = None,
    ) -> None:
        values = {
            "status": status,
            "updated_at": updated_at,
            "run_id": run_id,
            "error": error,
            "error_status": error_status,
        }
        q = update(jobs).where(J.job_id == job_id, J.status != "cancelled").values(**values)
        with self.store.write() as conn:  # a cancelled job stays cancelled
            conn.execute(q)

    def cancel(self, job_id: str, now: float, error: str) -> None:
        """Mark a queued or running job cancelled (a finished one is left as it is)."""
        q = (
            update(jobs)
            .where(J.job_id == job_id, J.status.in_(UNFINISHED))
            .values(status="cancelled", updated_at=now, error=error)
        )
        with self.store.write() as conn:
            conn.execute(q)

    def heartbeat(self, owner: str, now: float) -> int:
        """Refresh every unfinished job of this owner; returns how many."""
        q = update(jobs).where(J.owner == owner, J.status.in_(UNFINISHED)).values(updated_at=now)
        with self.store.write() as conn:
            return int(conn.execute(q).rowcount)

    def list(self, limit: int = 50, status: str | None = None) -> list[JobRecord]:
        """Newest first."""
        q = select(jobs).order_by(J.created_at.desc()).limit(limit)
        if status:
            q = q.where(J.status == status)
        with self.store.read() as conn:
            return [JobRecord(**r._mapping) for r in conn.execute(q)]

    def get(self, job_id: str) -> JobRecord | None:
        with self.store.read() as conn:
            r = conn.execute(select(jobs).where(J.job_id == job_id)).first()
        return JobRecord(**r._mapping) if r else None
