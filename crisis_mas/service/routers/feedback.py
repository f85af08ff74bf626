"""Operator feedback over HTTP: `POST /v1/runs/{run_id}/feedback` and
`GET /v1/experts/reliability` (the same store and reliability model as `crisis-mas feedback`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from crisis_mas.config import AppConfig
from crisis_mas.experts.reliability import (
    FeedbackIn,
    FeedbackStore,
    UnknownOutcome,
    UnknownRun,
    reliability_table,
)
from crisis_mas.report.feedback import record_feedback
from crisis_mas.service.security import error_body


def feedback_router(config: AppConfig) -> Any:
    """FastAPI router: `POST /v1/runs/{run_id}/feedback` and `GET /v1/experts/reliability`.

    Body errors are FastAPI 422s naming the field (the Serve app's handler turns them into its
    error object); an unknown run is 404 (`param: run_id`), an outcome that is not one of the
    run's alternatives is 422 (`param: outcome`).
    """
    router = APIRouter(tags=["feedback"])
    store = config.store

    def _err(status: int, message: str, type_: str, param: str) -> Response:
        return Response(
            error_body(status, message, type_, param), status, media_type="application/json"
        )

    # response_model=None: the handler returns a Response, not a model FastAPI should document.
    @router.post(
        "/v1/runs/{run_id}/feedback",
        status_code=201,
        summary="Record an operator outcome",
        response_model=None,
    )
    def post_feedback(run_id: str, body: FeedbackIn) -> Response:
        try:
            fb = record_feedback(store, run_id, body)
        except UnknownRun as err:
            return _err(404, str(err), "not_found", "run_id")
        except UnknownOutcome as err:
            return _err(422, f"outcome: {err}", "invalid_request_error", "outcome")
        return JSONResponse(fb.model_dump(), status_code=201)

    @router.get("/v1/experts/reliability", summary="Learned reliability per expert and type")
    def get_reliability(crisis_type: str | None = None) -> dict[str, Any]:
        rows = reliability_table(
            FeedbackStore(store),
            config.feedback,
            crisis_types=[crisis_type] if crisis_type else None,
        )
        return {"reliability": [r.model_dump() for r in rows]}

    return router
