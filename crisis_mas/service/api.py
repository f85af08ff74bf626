"""The HTTP API (FastAPI): one router per resource, mounted behind the auth / body-size /
rate-limit middleware, with one error object for every failure (`service/errors.py`).

`create_api(state)` builds the app around an `ApiState` (`service/state.py`), which owns the
serving `Assessor`: the same `Assessor.run` the CLI calls, with a `ModelPool` that forwards
batches to the model-pool deployment.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from crisis_mas import __version__
from crisis_mas.service.errors import install_error_handlers
from crisis_mas.service.routers.assessments import assessments_router, heartbeat
from crisis_mas.service.routers.console import console_files, console_router
from crisis_mas.service.routers.feedback import feedback_router
from crisis_mas.service.routers.openai import openai_router
from crisis_mas.service.routers.ops import ops_router
from crisis_mas.service.routers.passages import passages_router
from crisis_mas.service.routers.rollout import rollout_router
from crisis_mas.service.routers.runs import runs_router
from crisis_mas.service.routers.scenarios import scenarios_router
from crisis_mas.service.routers.tools import tools_router
from crisis_mas.service.security import protect
from crisis_mas.service.state import (
    MODEL_REPLICAS_HEADER,
    REPLICA_HEADER,
    ApiState,
)

__all__ = ["MODEL_REPLICAS_HEADER", "REPLICA_HEADER", "ApiState", "create_api"]


# ---- HTTP metrics in the ops registry (served by /metrics with the model-call metrics) -------
_HTTP: dict[str, Any] = {}


def _http_metrics() -> dict[str, Any]:
    if not _HTTP:
        from prometheus_client import Counter, Histogram

        from crisis_mas.middleware.metrics import REGISTRY

        _HTTP["requests"] = Counter(
            "crisis_mas_http_requests",
            "HTTP requests by route and status.",
            ("route", "method", "status"),
            registry=REGISTRY,
        )
        _HTTP["latency"] = Histogram(
            "crisis_mas_http_request_seconds",
            "HTTP request latency by route.",
            ("route",),
            registry=REGISTRY,
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
        )
    return _HTTP


def create_api(state: ApiState) -> Any:
    """The ASGI app: FastAPI routes behind the auth / body-size / rate-limit middleware."""
    settings, cfg = state.settings, state.config

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        beat = asyncio.create_task(heartbeat(state))
        try:
            yield
        finally:
            beat.cancel()

    app = FastAPI(
        title="crisis-mas",
        version=__version__,
        description="Greek commander agents assess a crisis in parallel on a LoRA model pool; "
        "a coordinator ranks the alternatives. Errors are "
        '`{"error": {"message", "type", "param", "code"}}`.',
        lifespan=lifespan,
    )
    install_error_handlers(app)

    @app.middleware("http")
    async def _observe(request: Request, call_next: Callable) -> Response:
        t0 = time.perf_counter()
        response = await call_next(request)
        response.headers[REPLICA_HEADER] = state.replica
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        m = _http_metrics()
        m["requests"].labels(path, request.method, str(response.status_code)).inc()
        m["latency"].labels(path).observe(time.perf_counter() - t0)
        return response

    app.include_router(assessments_router(state), tags=["assessments"])
    app.include_router(runs_router(state), tags=["runs"])
    app.include_router(openai_router(state), tags=["openai"])
    app.include_router(tools_router(state), tags=["tools"])
    app.include_router(ops_router(state), tags=["ops"])
    # Operator feedback (drives learned reliability) and adapter rollout controls.
    app.include_router(feedback_router(cfg))
    app.include_router(rollout_router(cfg))
    app.include_router(scenarios_router(), tags=["scenarios"])
    app.include_router(passages_router(state), tags=["tools"])
    app.include_router(console_router(state), tags=["console"])

    # The console's static files carry no data: the page loads without the token, then sends
    # it on every /v1/ call.
    public = [*settings.api.public_paths, *console_files()]
    return protect(app, settings, state.token, public)  # service/security.py
