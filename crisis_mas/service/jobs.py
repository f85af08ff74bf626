"""Async assessment jobs (`POST /v1/assessments?mode=async`), kept in SQLite beside the run store.

A job row survives its replica: any ingress replica can answer `GET /v1/jobs/{id}`, and the report
itself lives in the run store. The replica running a job refreshes `updated_at` (a heartbeat); a
running job whose heartbeat stops (its replica died) is reported as failed, never as running
forever.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
FINISHED = ("succeeded", "failed", "cancelled")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    owner TEXT NOT NULL,
    scenario_id TEXT NOT NULL,
    run_id TEXT,
    error TEXT,
    error_status INTEGER
);
"""


_COLUMNS = "job_id, status, created_at, updated_at, owner, scenario_id, run_id, error, error_status"


class Job(BaseModel):
    job_id: str
    status: JobStatus
    created_at: float
    updated_at: float
    owner: str
    scenario_id: str
    run_id: str | None = None
    error: str | None = None
    # The HTTP status the synchronous call would have returned for this failure (422, 503...).
    error_status: int | None = None


class JobStore:
    def __init__(self, path: Path, stale_after_s: float = 60.0):
        self.path = path
        self.stale_after_s = stale_after_s
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def create(self, owner: str, scenario_id: str) -> Job:
        now = time.time()
        job = Job(
            job_id=uuid.uuid4().hex,
            status="queued",
            created_at=now,
            updated_at=now,
            owner=owner,
            scenario_id=scenario_id,
        )
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job.job_id, job.status, now, now, owner, scenario_id, None, None, None),
            )
        return job

    def update(
        self,
        job_id: str,
        status: JobStatus,
        run_id: str | None = None,
        error: str | None = None,
        error_status: int | None = None,
    ) -> None:
        """Set a job's status; a cancelled job stays cancelled (its run may still finish)."""
        with closing(self._connect()) as db, db:
            db.execute(
                "UPDATE jobs SET status = ?, updated_at = ?, run_id = ?, error = ?, "
                "error_status = ? WHERE job_id = ? AND status != 'cancelled'",
                (status, time.time(), run_id, error, error_status, job_id),
            )

    def cancel(self, job_id: str) -> Job | None:
        """Mark a queued or running job cancelled; returns the job as it is now (None if
        unknown). A finished job is left as it is."""
        with closing(self._connect()) as db, db:
            db.execute(
                "UPDATE jobs SET status = 'cancelled', updated_at = ?, error = ? "
                "WHERE job_id = ? AND status IN ('queued', 'running')",
                (time.time(), "cancelled by the operator", job_id),
            )
        return self.get(job_id)

    def heartbeat(self, owner: str) -> int:
        """Refresh every unfinished job of this replica; returns how many."""
        with closing(self._connect()) as db, db:
            cur = db.execute(
                "UPDATE jobs SET updated_at = ? "
                "WHERE owner = ? AND status IN ('queued', 'running')",
                (time.time(), owner),
            )
            return cur.rowcount

    def list(self, limit: int = 50, status: JobStatus | None = None) -> list[Job]:
        """Jobs newest first (a lost replica's jobs read as failed, as in `get`)."""
        where, args = ("WHERE status = ?", [status]) if status else ("", [])
        with closing(self._connect()) as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM jobs {where} ORDER BY created_at DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        now = time.time()
        return [self._fresh(Job(**dict(zip(Job.model_fields, r, strict=True))), now) for r in rows]

    def get(self, job_id: str, now: float | None = None) -> Job | None:
        with closing(self._connect()) as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        job = Job(**dict(zip(Job.model_fields, row, strict=True)))
        return self._fresh(job, time.time() if now is None else now)

    def _fresh(self, job: Job, now: float) -> Job:
        if job.status in ("queued", "running") and now - job.updated_at > self.stale_after_s:
            job.status = "failed"
            job.error = (
                f"the replica running this job stopped reporting {now - job.updated_at:.0f} s "
                "ago (restarted or lost); submit it again"
            )
            job.error_status = 503
        return job
