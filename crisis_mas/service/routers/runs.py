"""Stored runs (CLI and server share the run store): `GET /v1/runs`, `GET /v1/runs/{run_id}`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from crisis_mas.report.model import Report
from crisis_mas.service.errors import ApiError
from crisis_mas.service.state import ApiState


def runs_router(state: ApiState) -> APIRouter:
    """Routes bound to the shared `ApiState`."""
    router = APIRouter()

    @router.get("/v1/runs", summary="Stored runs, newest first (CLI and server)")
    async def list_runs(
        limit: int = Query(20, ge=1, le=500), scenario_id: str | None = None
    ) -> dict[str, Any]:
        rows = state.runs.list(limit=limit, scenario_id=scenario_id)
        return {"runs": [r.model_dump() for r in rows]}

    @router.get(
        "/v1/runs/{run_id}",
        responses={200: {"model": Report}},
        summary="One stored report",
    )
    async def get_run(run_id: str) -> Response:
        report = state.report(run_id)
        if report is None:
            raise ApiError(404, f"run '{run_id}' not found", "not_found", "run_id")
        return JSONResponse(report.model_dump(mode="json"))

    return router
