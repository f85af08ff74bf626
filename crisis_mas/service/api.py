"""The HTTP API (FastAPI): assessments, jobs, runs, OpenAI chat/models, the RAG tool, health.

`create_api(state)` builds the app around an `ApiState`, which owns one `Assessor` — the same
`Assessor.run` the CLI calls, with a `ModelPool` that forwards batches to the model-pool
deployment. Assessments and chat completions run in bounded worker threads (the pipeline is
synchronous); every one has a deadline, and every failure becomes a JSON error
(`{"error": {"message", "type", "param", "code"}}`): 4xx for the caller's input, 503 when the
model is unavailable or too slow. Every report is saved in the run store (and recorded for the
drift monitor, `persist_run`) before the response. Adapter rollout: a canary is routed inside
`Assessor.run`; a shadow candidate runs afterwards on one low-priority background worker, so the
response never waits for it (a shadow due while another is queued or running is skipped and
counted in `crisis_mas_shadow_runs_total{outcome="skipped"}`). The feedback and rollout routers
are mounted behind the same middleware.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from crisis_mas import __version__
from crisis_mas.errors import InputError
from crisis_mas.pool.backends.vllm_async import ModelRejected
from crisis_mas.pool.base import ModelPool, ModelPoolError
from crisis_mas.pool.types import ChatMessage, GenerationRequest, SamplingConfig
from crisis_mas.report.model import Report
from crisis_mas.scenario import Scenario
from crisis_mas.service.config import ServeAppConfig
from crisis_mas.service.jobs import JobStore
from crisis_mas.service.schemas import (
    AssessmentRequest,
    ChatCompletionRequest,
    JobAccepted,
    JobView,
)
from crisis_mas.service.security import LimitsMiddleware, RateLimiter, error_body

log = logging.getLogger("crisis_mas.service.api")
T = TypeVar("T")

REPLICA_HEADER = "x-crisis-mas-replica"
MODEL_REPLICAS_HEADER = "x-crisis-mas-model-replicas"


class ApiError(Exception):
    """An error with its HTTP status; rendered as the OpenAI-style error object."""

    def __init__(self, status: int, message: str, type_: str, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param = status, message, type_, param


def _model_error(errors: list[ModelPoolError]) -> ApiError:
    err = errors[0]
    if isinstance(err, ModelRejected):
        return ApiError(422, f"the model rejected the request: {err}", "invalid_request_error")
    return ApiError(503, f"model unavailable: {err}", "model_unavailable")


def _texts(value: Any) -> list[str]:
    """Every string inside a JSON-like value (for the input guard)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


class ApiState:
    """Everything the routes share: the Assessor (and its chained pool), stores, executors."""

    def __init__(
        self,
        settings: ServeAppConfig,
        pool: ModelPool,
        replica: str,
        token: str | None,
        on_close: Callable[[], None] | None = None,
    ):
        from crisis_mas.runtime import serving_assessor
        from crisis_mas.store.runs import RunStore

        self.settings = settings
        self.config = settings.crisis_mas
        self.replica = replica
        self.token = token
        self.raw_pool = pool
        self.assessor = serving_assessor(self.config, pool=pool)
        self.runs = RunStore(self.config.store.path)
        self.jobs = JobStore(self.runs.path.parent / "jobs.db", settings.api.job_stale_after_s)
        api = settings.api
        self.assess_threads = ThreadPoolExecutor(
            api.max_concurrent_assessments, thread_name_prefix="assess"
        )
        self.chat_threads = ThreadPoolExecutor(api.max_concurrent_chat, thread_name_prefix="chat")
        self.tasks: set[asyncio.Task] = set()
        self.started = int(time.time())
        self.on_close = on_close
        # Shadow rollout work: one worker, at most one job queued or running, started only when
        # no user request is in flight (it waits up to `shadow_wait_s`, then gives up).
        self.shadow_threads = ThreadPoolExecutor(
            1, thread_name_prefix="shadow", initializer=_lower_priority
        )
        self.shadow_wait_s = float(api.assessment_timeout_s)
        self._shadow_idle = threading.Event()
        self._shadow_idle.set()
        self._busy_lock = threading.Lock()
        self._inflight = 0

    def warmup(self) -> None:
        """Open the knowledge base now (not racing on the first requests); failures are logged
        and show up in `/healthz`."""
        try:
            r = self.assessor.retriever()
            if r is not None:
                r.warmup()
        except Exception as err:
            log.warning("knowledge base not available: %s", err)

    # -- model bookkeeping (RemotePool records per worker thread) --------------------------------
    def _begin(self) -> None:
        begin = getattr(self.raw_pool, "begin", None)
        if begin is not None:
            begin()

    def _replicas(self) -> list[str]:
        fn = getattr(self.raw_pool, "replicas", None)
        return fn() if fn is not None else []

    def _errors(self) -> list[ModelPoolError]:
        fn = getattr(self.raw_pool, "errors", None)
        return fn() if fn is not None else []

    # -- work done in threads ---------------------------------------------------------------
    def assess(self, scenario: Scenario, experts: list[str] | None) -> tuple[Report, list[str]]:
        """One assessment through `Assessor.run`; saved (run store + drift input) before
        returning, then any shadow rollout is handed to the background worker. Raises ApiError."""
        from crisis_mas.runtime import persist_run

        with self._user_request():
            self._begin()
            report = self.assessor.run(scenario, experts)
            errors = self._errors()
            if errors:
                raise _model_error(errors)
            persist_run(self.config, scenario, report)
            replicas = self._replicas()
        self.schedule_shadow(scenario, report)
        return report, replicas

    def chat(self, request: GenerationRequest) -> tuple[Any, list[str]]:
        with self._user_request():
            self._begin()
            try:
                result = self.assessor.pool.generate([request])[0]
            except ModelPoolError as err:
                raise _model_error([err]) from None
            return result, self._replicas()

    # -- shadow rollout, off the user's latency ---------------------------------------------
    @contextlib.contextmanager
    def _user_request(self) -> Any:
        with self._busy_lock:
            self._inflight += 1
        try:
            yield
        finally:
            with self._busy_lock:
                self._inflight -= 1

    def schedule_shadow(self, scenario: Scenario, report: Report) -> str:
        """Queue the shadow candidates of this run on the shadow worker: 'none' when no shadow
        rollout applies, 'queued', or 'skipped' when a shadow job is already queued/running."""
        from crisis_mas.rollout import live

        try:
            candidates = live.shadow_candidates(self.config, report, self.assessor.pool.info)
        except Exception as err:  # never fail a served request over shadow bookkeeping
            log.warning("shadow rollout lookup failed: %s", err)
            return "none"
        if not candidates:
            return "none"
        with self._busy_lock:
            if not self._shadow_idle.is_set():
                live.shadow_counter().labels("skipped").inc()
                return "skipped"
            self._shadow_idle.clear()
        try:
            self.shadow_threads.submit(self._shadow_job, scenario, report, candidates)
        except RuntimeError:  # shutting down
            self._shadow_idle.set()
            return "none"
        return "queued"

    def _shadow_job(
        self, scenario: Scenario, report: Report, candidates: dict[str, tuple[int, str]]
    ) -> None:
        from crisis_mas.rollout import live

        try:
            deadline = time.monotonic() + self.shadow_wait_s
            while self._inflight > 0:  # user requests first
                if time.monotonic() > deadline:
                    live.shadow_counter().labels("skipped").inc()
                    return
                time.sleep(0.2)
            self._begin()  # fresh per-thread model-call bookkeeping (RemotePool)
            live.run_shadows(self.assessor, scenario, report, candidates)
        except Exception:
            log.exception("shadow job for run %s failed", report.run_id)
        finally:
            self._shadow_idle.set()

    def shadow_idle(self, timeout_s: float | None = None) -> bool:
        """Wait until no shadow job is queued or running (tests, benchmarks, shutdown)."""
        return self._shadow_idle.wait(timeout_s)

    async def in_thread(
        self, pool: ThreadPoolExecutor, timeout_s: float, fn: Callable[..., T], *args: Any
    ) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(pool, fn, *args), timeout_s)
        except TimeoutError:
            raise ApiError(
                503,
                f"no answer within {timeout_s:g} s; the model pool is overloaded or stuck",
                "model_unavailable",
            ) from None

    def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        self.assess_threads.shutdown(wait=False, cancel_futures=True)
        self.chat_threads.shutdown(wait=False, cancel_futures=True)
        self.shadow_threads.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(Exception):
            self.assessor.close()
        if self.on_close is not None:
            self.on_close()


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


def _validation_error(exc: RequestValidationError) -> ApiError:
    first = exc.errors()[0]
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    if first.get("type") == "json_invalid":
        return ApiError(
            400,
            f"malformed JSON: {first.get('ctx', {}).get('error', first['msg'])}",
            "invalid_request_error",
        )
    field = ".".join(loc) or "body"
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return ApiError(422, f"{field}: {msg}{more}", "invalid_request_error", field)


def create_api(state: ApiState) -> Any:
    """The ASGI app: FastAPI routes behind the auth / body-size / rate-limit middleware."""
    settings, cfg = state.settings, state.config

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        beat = asyncio.create_task(_heartbeat(state))
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

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return Response(
            error_body(exc.status, exc.message, exc.type, exc.param),
            exc.status,
            media_type="application/json",
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        return await _api_error(_, _validation_error(exc))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error")
        return await _api_error(
            _, ApiError(500, f"internal error: {type(exc).__name__}: {exc}"[:500], "server_error")
        )

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

    # -- assessments ------------------------------------------------------------------------
    def _checked(body: AssessmentRequest) -> tuple[Scenario, list[str] | None]:
        from crisis_mas.experts.profiles import get_profiles

        if body.experts:
            try:
                get_profiles(body.experts)
            except InputError as err:
                raise ApiError(422, f"experts: {err}", "invalid_request_error", "experts") from None
        _guard(state, _texts(body.scenario.model_dump(mode="json")), "scenario")
        return body.scenario, body.experts

    @app.post(
        "/v1/assessments",
        tags=["assessments"],
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
            task = asyncio.create_task(_run_job(state, job.job_id, scenario, experts))
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

    @app.get(
        "/v1/jobs/{job_id}",
        tags=["assessments"],
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

    # -- run store --------------------------------------------------------------------------
    @app.get("/v1/runs", tags=["runs"], summary="Stored runs, newest first (CLI and server)")
    async def list_runs(
        limit: int = Query(20, ge=1, le=500), scenario_id: str | None = None
    ) -> dict[str, Any]:
        rows = state.runs.list(limit=limit, scenario_id=scenario_id)
        return {"runs": [r.model_dump() for r in rows]}

    @app.get(
        "/v1/runs/{run_id}",
        tags=["runs"],
        responses={200: {"model": Report}},
        summary="One stored report",
    )
    async def get_run(run_id: str) -> Response:
        report = state.runs.get(run_id)
        if report is None:
            raise ApiError(404, f"run '{run_id}' not found", "not_found", "run_id")
        return JSONResponse(report.model_dump(mode="json"))

    # -- OpenAI-compatible ------------------------------------------------------------------
    def _models() -> list[dict[str, Any]]:
        created = state.started
        base = cfg.model.base
        out = [
            {
                "id": base,
                "object": "model",
                "created": created,
                "owned_by": "crisis-mas",
                "root": base,
                "parent": None,
            }
        ]
        for expert, ref in sorted(state.assessor.adapters.items()):
            out.append(
                {
                    "id": expert,
                    "object": "model",
                    "created": created,
                    "owned_by": "crisis-mas",
                    "root": base,
                    "parent": base,
                    "adapter": ref.name,
                }
            )
        return out

    @app.get("/v1/models", tags=["openai"], summary="The base model and one model per adapter")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": _models()}

    @app.post(
        "/v1/chat/completions",
        tags=["openai"],
        summary="OpenAI chat completion; model = an expert id (its adapter) or the base",
    )
    async def chat_completions(body: ChatCompletionRequest) -> Response:
        adapters = state.assessor.adapters
        if body.model != cfg.model.base and body.model not in adapters:
            known = ", ".join([cfg.model.base, *sorted(adapters)])
            raise ApiError(
                422,
                f"model: unknown model '{body.model}' (available: {known})",
                "model_not_found",
                "model",
            )
        max_tokens = body.max_completion_tokens or body.max_tokens
        if max_tokens is not None and max_tokens > settings.api.max_chat_tokens:
            raise ApiError(
                422,
                f"max_tokens: must be <= {settings.api.max_chat_tokens}",
                "invalid_request_error",
                "max_tokens",
            )
        _guard(state, [m.content for m in body.messages], "messages")
        base = cfg.model.sampling
        updates: dict[str, Any] = {
            "max_tokens": max_tokens or min(base.max_tokens, settings.api.max_chat_tokens),
            "stop": [body.stop] if isinstance(body.stop, str) else list(body.stop or []),
        }
        for name in ("temperature", "top_p", "seed", "repetition_penalty"):
            if getattr(body, name) is not None:
                updates[name] = getattr(body, name)
        sampling = SamplingConfig.model_validate({**base.model_dump(), **updates})
        expert = body.model if body.model in adapters else "base"
        request = GenerationRequest(
            messages=[ChatMessage(role=m.role, content=m.content) for m in body.messages],
            adapter=adapters.get(body.model),
            sampling=sampling,
            tags={"kind": "chat", "expert": expert},
        )
        result, replicas = await state.in_thread(
            state.chat_threads, settings.api.model_timeout_s + 30, state.chat, request
        )
        if result.blocked:
            raise ApiError(
                400, f"input blocked by guardrails: {result.text}", "input_blocked", "messages"
            )
        finish = result.finish_reason if result.finish_reason in ("stop", "length") else "stop"
        payload = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result.text},
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens,
                "total_tokens": result.prompt_tokens + result.completion_tokens,
            },
            "crisis_mas": {
                "cached": result.cached,
                "flags": result.flags,
                "latency_ms": round(result.latency_ms, 1),
            },
        }
        return JSONResponse(payload, headers={MODEL_REPLICAS_HEADER: ",".join(replicas)})

    # -- the RAG tool -----------------------------------------------------------------------
    @app.get("/v1/tools", tags=["tools"], summary="Tool definitions (OpenAI function format)")
    async def list_tools() -> dict[str, Any]:
        from crisis_mas.rag import openai_tool

        return {"object": "list", "data": [openai_tool(cfg.rag.domains)]}

    @app.post(
        "/v1/tools/search_corpus",
        tags=["tools"],
        summary="Search the knowledge base: {query, top_k?, domain?} -> hits with citations",
    )
    async def search_corpus(args: dict[str, Any] = Body(...)) -> dict[str, Any]:
        from crisis_mas.rag import ToolArgumentError, call_search_corpus

        if isinstance(args.get("query"), str):
            _guard(state, [args["query"]], "query")
        retriever = await asyncio.to_thread(_retriever, state)
        try:
            return await asyncio.to_thread(call_search_corpus, args, retriever)
        except ToolArgumentError as err:
            raise ApiError(422, str(err), "invalid_request_error", err.field) from None

    # -- operations -------------------------------------------------------------------------
    @app.get("/healthz", tags=["ops"], summary="Health of every component (503 when one is down)")
    async def healthz() -> Response:
        body = await asyncio.to_thread(_health, state)
        return JSONResponse(body, status_code=200 if body["ok"] else 503)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics (this ingress replica)")
    async def metrics() -> Response:
        from crisis_mas.middleware.metrics import metrics_text

        data, content_type = metrics_text()
        return Response(data, media_type=content_type)

    # Operator feedback (drives learned reliability) and adapter rollout controls.
    from crisis_mas.service.routers.feedback import feedback_router
    from crisis_mas.service.routers.rollout import rollout_router

    app.include_router(feedback_router(cfg))
    app.include_router(rollout_router(cfg))

    api = settings.api
    limiter = (
        RateLimiter(api.rate_limit.requests_per_minute, api.rate_limit.burst)
        if api.rate_limit.enabled
        else None
    )
    return LimitsMiddleware(app, state.token, api.max_body_bytes, limiter, api.public_paths)


def _lower_priority() -> None:
    """Nice the shadow worker thread (Linux: per thread), so the ingress's own CPU work for user
    requests (retrieval, guards) goes first."""
    with contextlib.suppress(Exception):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def _guard(state: ApiState, texts: list[str], where: str) -> None:
    """The input rails on API input; a blocked request gets 400 naming the reason."""
    from crisis_mas.safety.guard import check_input

    guard = state.config.ops.guard
    if guard.policy != "block":
        return
    for text in texts:
        res = check_input(text, guard)
        if not res.allowed:
            blocking = [f for f in res.flags if f.get("score", 0) >= guard.block_threshold]
            f = (blocking or res.flags)[0]
            raise ApiError(
                400,
                f"{where}: input blocked by guardrails ({f['type']}): {f.get('reason', '')}",
                "input_blocked",
                where,
            )


def _retriever(state: ApiState) -> Any:
    if not state.config.rag.enabled:
        raise ApiError(
            503, "the knowledge base is disabled (rag.enabled is false)", "tool_unavailable"
        )
    try:
        return state.assessor.retriever()
    except Exception as err:
        raise ApiError(
            503, f"the knowledge base is unavailable: {err}", "tool_unavailable"
        ) from None


def _health(state: ApiState) -> dict[str, Any]:
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


async def _run_job(
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


async def _heartbeat(state: ApiState, every_s: float | None = None) -> None:
    period = every_s or max(1.0, state.settings.api.job_stale_after_s / 4)
    while True:
        await asyncio.sleep(period)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(state.jobs.heartbeat, state.replica)
