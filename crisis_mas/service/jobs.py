"""Async assessment jobs (`POST /v1/assessments?mode=async`), kept in the store beside the runs.

A job row survives its replica: any ingress replica (on any node sharing the store) can answer
`GET /v1/jobs/{id}`, and the report itself lives in the run store. The replica running a job
refreshes `updated_at` (a heartbeat); a running job whose heartbeat stops (its replica died) is
reported as failed, never as running forever.
"""

from __future__ import annotations

import time
import uuid
from typing import Literal

from crisis_mas.store import StoreRef, open_store
from crisis_mas.store.records import JobRecord

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
FINISHED = ("succeeded", "failed", "cancelled")


class Job(JobRecord):
    """A job as the API reports it. `error_status` is the HTTP status the synchronous call would
    have returned for the failure (422, 503...)."""

    status: JobStatus


class JobStore:
    def __init__(self, store: StoreRef = None, stale_after_s: float = 60.0):
        self.repo = open_store(store).jobs
        self.stale_after_s = stale_after_s

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
        self.repo.create(job)
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
        self.repo.update(job_id, status, time.time(), run_id, error, error_status)

    def cancel(self, job_id: str) -> Job | None:
        """Mark a queued or running job cancelled; returns the job as it is now (None if
        unknown). A finished job is left as it is."""
        self.repo.cancel(job_id, time.time(), "cancelled by the operator")
        return self.get(job_id)

    def heartbeat(self, owner: str) -> int:
        """Refresh every unfinished job of this replica; returns how many."""
        return self.repo.heartbeat(owner, time.time())

    def list(self, limit: int = 50, status: JobStatus | None = None) -> list[Job]:
        """Jobs newest first (a lost replica's jobs read as failed, as in `get`)."""
        now = time.time()
        return [self._fresh(Job(**r.model_dump()), now) for r in self.repo.list(limit, status)]

    def get(self, job_id: str, now: float | None = None) -> Job | None:
        r = self.repo.get(job_id)
        if r is None:
            return None
        return self._fresh(Job(**r.model_dump()), time.time() if now is None else now)

    def _fresh(self, job: Job, now: float) -> Job:
        if job.status in ("queued", "running") and now - job.updated_at > self.stale_after_s:
            job.status = "failed"
            job.error = (
                f"the replica running this job stopped reporting {now - job.updated_at:.0f} s "
                "ago (restarted or lost); submit it again"
            )
            job.error_status = 503
        return job
