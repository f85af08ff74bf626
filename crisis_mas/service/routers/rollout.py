"""HTTP controls for the Serve app: rollout status, promote and rollback, the same operations as
`crisis-mas adapters status|promote|rollback`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crisis_mas.config import AppConfig


def rollout_router(config: AppConfig) -> Any:
    """`GET /v1/adapters/rollout`, `POST /v1/adapters/{expert}/promote|rollback`."""
    from fastapi import APIRouter, Query
    from fastapi.responses import JSONResponse, Response

    from crisis_mas.errors import InputError
    from crisis_mas.rollout.registry import Registry
    from crisis_mas.service.security import error_body

    router = APIRouter(tags=["rollout"])
    store = config.store
    rcfg = config.rollout

    def _err(status: int, message: str, param: str) -> Response:
        body = error_body(status, message, "invalid_request_error", param)
        return Response(body, status, media_type="application/json")

    @router.get("/v1/adapters/rollout", summary="Adapter versions and rollouts with arm stats")
    def status() -> dict[str, Any]:
        reg = Registry(store, rcfg)
        rollouts = [reg.status(r.expert) for r in reg.rollouts()]
        return {
            "versions": [v.model_dump() for v in reg.versions()],
            "rollouts": [s.model_dump() for s in rollouts if s is not None],
        }

    # response_model=None: `Response` is a string annotation here (lazy import) that FastAPI
    # cannot resolve when it builds /openapi.json.
    @router.post(
        "/v1/adapters/{expert}/promote",
        summary="Promote the candidate if gates pass",
        response_model=None,
    )
    def promote(expert: str, force: bool = Query(False)) -> Response:
        try:
            v = Registry(store, rcfg).promote(expert, force)
        except InputError as err:
            return _err(409, str(err), "expert")
        return JSONResponse(v.model_dump(), status_code=200 if v.action == "promote" else 409)

    @router.post(
        "/v1/adapters/{expert}/rollback", summary="Stop the candidate now", response_model=None
    )
    def rollback(
        expert: str, reason: str = Query("rollback over HTTP", max_length=500)
    ) -> Response:
        try:
            r = Registry(store, rcfg).rollback(expert, reason)
        except InputError as err:
            return _err(409, str(err), "expert")
        return JSONResponse(r.model_dump())

    return router
