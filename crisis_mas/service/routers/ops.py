"""Operations: `GET /healthz` (503 when a component is down) and `GET /metrics` (Prometheus)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from crisis_mas import __version__
from crisis_mas.service.state import ApiState


def ops_router(state: ApiState) -> APIRouter:
    """Routes bound to the shared `ApiState`."""
    router = APIRouter()

    @router.get("/healthz", summary="Health of every component (503 when one is down)")
    async def healthz() -> Response:
        body = await asyncio.to_thread(health_body, state)
        return JSONResponse(body, status_code=200 if body["ok"] else 503)

    @router.get("/metrics", summary="Prometheus metrics (this ingress replica)")
    async def metrics() -> Response:
        from crisis_mas.middleware.metrics import metrics_text

        data, content_type = metrics_text()
        return Response(data, media_type=content_type)

    return router


def health_body(state: ApiState) -> dict[str, Any]:
    """`/healthz` body: every component's health, this replica, the version, Serve status."""
    from crisis_mas.monitor.health import check_health

    body = check_health(state.config, state.raw_pool)
    body["replica"] = state.replica
    body["version"] = __version__
    serve_info = _serve_status()
    if serve_info is not None:
        body["serve"] = serve_info
    return body


def _serve_status() -> dict[str, Any] | None:
    """Deployment status and replica counts from the Serve controller (None outside Serve)."""
    try:
        import ray
        from ray import serve

        # Only inside a Serve replica: elsewhere serve.status() would start a local Ray.
        if not ray.is_initialized():
            return None
        serve.get_replica_context()
        status = serve.status()
    except Exception:
        return None
    out: dict[str, Any] = {}
    for app_name, app in status.applications.items():
        out[app_name] = {
            "status": str(app.status),
            "deployments": {
                name: {
                    "status": str(d.status),
                    "replicas": {str(k): v for k, v in d.replica_states.items()},
                }
                for name, d in app.deployments.items()
            },
        }
    return out
