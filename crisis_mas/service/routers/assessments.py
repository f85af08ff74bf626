"""Assessments and their jobs: `POST /v1/assessments` (sync: the report; `mode=async`: a job
id; `mode=stream`: the job's live events), `GET /v1/jobs`, `GET /v1/jobs/{job_id}`,
`GET /v1/jobs/{job_id}/events` (server-sent events) and `POST /v1/jobs/{job_id}/cancel`. All run
the same `Assessor.run` as the CLI.

A job's events: `status` (queued, running), `progress` (the Assessor's `ProgressEvent`s: experts
selected, passages retrieved, each answer with its tokens and flags, each expert done or on its
fallback, the decision), then one terminal event: `report` (the stored report), `error` (the
OpenAI error object) or `cancelled`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from crisis_mas.assess import new_run_id
from crisis_mas.errors import InputError
from crisis_mas.report.model import Report
from crisis_mas.scenario import Scenario
from crisis_mas.service.errors import ApiError
from crisis_mas.service.jobs import FINISHED, Job, JobStatus
from crisis_mas.service.progress import Event, JobChannel
from crisis_mas.service.schemas import AssessmentRequest, JobAccepted, JobList, JobView
from crisis_mas.service.sse import KEEPALIVE, sse, sse_response
from crisis_mas.service.state import MODEL_REPLICAS_HEADER, ApiState, guard_input, texts_in
from crisis_mas.service.streaming import ModelCancelled, controlled

log = logging.getLogger("crisis_mas.service.routers.assessments")


def _status(job_id: str, status: str, **more: object) -> dict[str, object]:
    return {"job_id": job_id, "status": status, **more}


def assessments_router(state: ApiState) -> APIRouter:
    """Routes bound to the shared `ApiState`."""
    router = APIRouter()
    settings = state.settings

    def _checked(body: AssessmentRequest) -> tuple[Scenario, list[str] | None]:
        from crisis_mas.experts.profiles import get_profiles

        if body.experts:
            try:
                get_profiles(body.experts)
            except InputError as err:
                raise ApiError(422, f"experts: {err}", "invalid_request_error", "experts") from None
        guard_input(state, texts_in(body.scenario.model_dump(mode="json")), "scenario")
        return body.scenario, body.experts

    def _job(job_id: str) -> Job:
        job = state.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"job '{job_id}' not found", "not_found", "job_id")
        return job

    def _start(scenario: Scenario, experts: list[str] | None) -> JobChannel:
        job = state.jobs.create(state.replica, scenario.id)
        channel = state.progress.open(job.job_id, new_run_id())
        channel.put("status", _status(job.job_id, "queued", scenario_id=scenario.id))
        task = asyncio.create_task(run_job(state, channel, scenario, experts))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)
        return channel

    @router.post(
        "/v1/assessments",
        summary="Assess a scenario (sync: the report; async: a job id; stream: live events)",
        responses={
            200: {"model": Report, "description": "sync: the report; stream: text/event-stream"},
            202: {"model": JobAccepted},
        },
    )
    async def create_assessment(
        body: AssessmentRequest,
        mode: Literal["sync", "async", "stream"] = Query(
            "sync",
            description="sync: the report; async: 202 with a job id; stream: the job's "
            "server-sent events (status, progress, then report/error/cancelled)",
        ),
    ) -> Response:
        scenario, experts = _checked(body)
        if mode == "async":
            channel = _start(scenario, experts)
            url = f"/v1/jobs/{channel.job_id}"
            return JSONResponse(
                JobAccepted(
                    job_id=channel.job_id, status_url=url, events_url=f"{url}/events"
                ).model_dump(),
                202,
                headers={"location": url},
            )
        if mode == "stream":
            channel = _start(scenario, experts)
            return sse_response(_follow(channel), {"x-crisis-mas-job": channel.job_id})
        report, replicas = await state.in_thread(
            state.assess_threads,
            settings.api.assessment_timeout_s,
            state.assess,
            scenario,
            experts,
        )
        return JSONResponse(
            report.model_dump(mode="json"),
            headers={MODEL_REPLICAS_HEADER: ",".join(replicas)},
        )

    @router.get("/v1/jobs", response_model=JobList, summary="Assessment jobs, newest first")
    async def list_jobs(
        limit: int = Query(50, ge=1, le=500),
        status: JobStatus | None = Query(None, description="Only jobs in this state"),
    ) -> JobList:
        jobs = await asyncio.to_thread(state.jobs.list, limit, status)
        return JobList(jobs=[JobView(**j.model_dump(exclude={"owner"})) for j in jobs])

    @router.get(
        "/v1/jobs/{job_id}",
        response_model=JobView,
        summary="Status of an async assessment; the report once it succeeded",
    )
    async def get_job(job_id: str) -> JobView:
        job = _job(job_id)
        report = None
        if job.status == "succeeded" and job.run_id:
            stored = state.report(job.run_id)
            report = stored.model_dump(mode="json") if stored else None
        return JobView(**job.model_dump(exclude={"owner"}), report=report)

    @router.get(
        "/v1/jobs/{job_id}/events",
        summary="A job's live progress as server-sent events (history first, then live)",
        response_class=Response,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def job_events(job_id: str) -> Response:
        channel = state.progress.get(job_id)
        if channel is not None:
            return sse_response(_follow(channel))
        _job(job_id)  # 404 if unknown; otherwise it ran (or runs) on another replica
        return sse_response(_from_store(job_id))

    @router.post(
        "/v1/jobs/{job_id}/cancel",
        response_model=JobView,
        summary="Cancel a queued or running job (its model calls are aborted); 409 if finished",
    )
    async def cancel_job(job_id: str) -> JobView:
        before = _job(job_id)
        if before.status in FINISHED:
            raise ApiError(
                409, f"job '{job_id}' already {before.status}", "invalid_request_error", "job_id"
            )
        job = await asyncio.to_thread(state.jobs.cancel, job_id)
        channel = state.progress.get(job_id)
        if channel is not None:
            channel.control.cancel()
            channel.put("cancelled", _status(job_id, "cancelled", run_id=channel.run_id))
        assert job is not None
        return JobView(**job.model_dump(exclude={"owner"}))

    async def _follow(channel: JobChannel) -> AsyncIterator[str]:
        async for event in channel.follow():
            yield KEEPALIVE if event is None else sse(event.data, event.name, event.seq)

    async def _from_store(job_id: str) -> AsyncIterator[str]:
        """Events of a job this replica does not hold: its status changes, polled from the job
        store, then the stored report (no per-expert progress)."""
        last = None
        seq = 0
        while True:
            job = await asyncio.to_thread(state.jobs.get, job_id)
            if job is None:
                return
            if job.status != last:
                last, seq = job.status, seq + 1
                ev = _store_event(state, job)
                yield sse(ev.data, ev.name, seq)
                if ev.terminal:
                    return
            await asyncio.sleep(1.0)

    return router


def _store_event(state: ApiState, job: Job) -> Event:
    if job.status == "succeeded" and job.run_id:
        stored = state.report(job.run_id)
        if stored is not None:
            return Event("report", stored.model_dump(mode="json"))
    if job.status == "failed":
        status = job.error_status or 500
        return Event("error", _error(status, job.error or "failed", "server_error"))
    if job.status == "cancelled":
        return Event("cancelled", _status(job.job_id, "cancelled", run_id=job.run_id))
    return Event("status", _status(job.job_id, job.status, scenario_id=job.scenario_id))


def _error(status: int, message: str, type_: str) -> dict[str, object]:
    return {"error": {"message": message, "type": type_, "param": None, "code": status}}


async def run_job(
    state: ApiState, channel: JobChannel, scenario: Scenario, experts: list[str] | None
) -> None:
    """Run one job in a worker thread; its progress goes to its channel, its outcome to the job
    store and, last, to the channel (report, error or cancelled)."""
    job_id, control = channel.job_id, channel.control

    def work() -> Report:
        with controlled(control):
            control.check()  # cancelled while queued
            state.jobs.update(job_id, "running", run_id=channel.run_id)
            channel.put("status", _status(job_id, "running", run_id=channel.run_id))
            report, _ = state.assess(scenario, experts, channel.run_id)
            return report

    try:
        report = await state.in_thread(
            state.assess_threads, state.settings.api.assessment_timeout_s, work
        )
    except ModelCancelled:  # cancelled before a worker thread picked it up
        channel.put("cancelled", _status(job_id, "cancelled", run_id=channel.run_id))
    except ApiError as err:
        if control.cancelled:  # its model calls were aborted: not a failure
            channel.put("cancelled", _status(job_id, "cancelled", run_id=channel.run_id))
            return
        control.cancel()  # a timed-out run stops at its next model call
        state.jobs.update(job_id, "failed", error=err.message, error_status=err.status)
        channel.put("error", _error(err.status, err.message, err.type))
    except Exception as err:
        log.exception("async job %s failed", job_id)
        message = f"{type(err).__name__}: {err}"[:500]
        state.jobs.update(job_id, "failed", error=message, error_status=500)
        channel.put("error", _error(500, message, "server_error"))
    else:
        state.jobs.update(job_id, "succeeded", run_id=report.run_id)
        channel.put("report", report.model_dump(mode="json"))


async def heartbeat(state: ApiState, every_s: float | None = None) -> None:
    period = every_s or max(1.0, state.settings.api.job_stale_after_s / 4)
    while True:
        await asyncio.sleep(period)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(state.jobs.heartbeat, state.replica)
