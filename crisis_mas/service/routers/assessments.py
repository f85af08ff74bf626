"""Assessments: `POST /v1/assessments` (sync: the report; `mode=async`: a job id) and
`GET /v1/jobs/{job_id}`; both run the same `Assessor.run` as the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from crisis_mas.errors import InputError
from crisis_mas.report.model import Report
from crisis_mas.scenario import Scenario
from crisis_mas.service.errors import ApiError
from crisis_mas.service.schemas import AssessmentRequest, JobAccepted, JobView
from crisis_mas.service.state import MODEL_REPLICAS_HEADER, ApiState, guard_input, texts_in

log = logging.getLogger("crisis_mas.service.routers.assessments")


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

    @router.post(
        "/v1/assessments",
        summary="Assess a scenario (sync: the report; mode=async: a job id)",
        responses={200: {"model": Report}, 202: {"model": JobAccepted}},
    )
    async def create_assessment(
        body: AssessmentRequest,
        mode: Literal["sync", "async"] = Query("sync", description="async: 202 with a job id"),
    ) -> Response:
        scenario, experts = _checked(body)
        if mode == "async":
            job = state.jobs.create(state.replica, scenario.id)
            task = asyncio.create_task(run_job(state, job.job_id, scenario, experts))
            state.tasks.add(task)
            task.add_done_callback(state.tasks.discard)
            url = f"/v1/jobs/{job.job_id}"
            return JSONResponse(
                JobAccepted(job_id=job.job_id, status_url=url).model_dump(),
                202,
                headers={"location": url},
            )
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

    @router.get(
        "/v1/jobs/{job_id}",
        response_model=JobView,
        summary="Status of an async assessment; the report once it succeeded",
    )
    async def get_job(job_id: str) -> JobView:
        job = state.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"job '{job_id}' not found", "not_found", "job_id")
        report = None
        if job.status == "succeeded" and job.run_id:
            stored = state.runs.get(job.run_id)
            report = stored.model_dump(mode="json") if stored else None
        return JobView(**job.model_dump(exclude={"owner"}), report=report)

    return router


async def run_job(
    state: ApiState, job_id: str, scenario: Scenario, experts: list[str] | None
) -> None:
    state.jobs.update(job_id, "running")
    try:
        report, _ = await state.in_thread(
            state.assess_threads,
            state.settings.api.assessment_timeout_s,
            state.assess,
            scenario,
            experts,
        )
    except ApiError as err:
        state.jobs.update(job_id, "failed", error=err.message, error_status=err.status)
    except Exception as err:
        log.exception("async job %s failed", job_id)
        state.jobs.update(
            job_id, "failed", error=f"{type(err).__name__}: {err}"[:500], error_status=500
        )
    else:
        state.jobs.update(job_id, "succeeded", run_id=report.run_id)


async def heartbeat(state: ApiState, every_s: float | None = None) -> None:
    period = every_s or max(1.0, state.settings.api.job_stale_after_s / 4)
    while True:
        await asyncio.sleep(period)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(state.jobs.heartbeat, state.replica)
