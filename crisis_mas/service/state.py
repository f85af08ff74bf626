"""`ApiState`: what every route shares: the serving `Assessor` (and its chained pool), the run
and job stores, bounded worker threads with deadlines, and the shadow-rollout worker.

Assessments and chat completions run in worker threads (the pipeline is synchronous); every one
has a deadline. Every report is saved (run store + drift input, `persist_run`) before the
response. A shadow candidate runs afterwards on one low-priority background worker, so the
response never waits for it (a shadow due while another is queued or running is skipped and
counted in `crisis_mas_shadow_runs_total{outcome="skipped"}`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from crisis_mas.pool.base import ModelPool, ModelPoolError
from crisis_mas.pool.types import GenerationRequest
from crisis_mas.report.model import Report
from crisis_mas.report.records import report_from
from crisis_mas.scenario import Scenario
from crisis_mas.service.config import ServeAppConfig
from crisis_mas.service.errors import ApiError, model_error
from crisis_mas.service.jobs import JobStore
from crisis_mas.service.streaming import ModelCancelled

log = logging.getLogger("crisis_mas.service.state")
T = TypeVar("T")

REPLICA_HEADER = "x-crisis-mas-replica"
MODEL_REPLICAS_HEADER = "x-crisis-mas-model-replicas"


def texts_in(value: Any) -> list[str]:
    """Every string inside a JSON-like value (for the input guard)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in texts_in(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts_in(v)]
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
        from crisis_mas.store import open_store

        self.settings = settings
        self.config = settings.crisis_mas
        self.replica = replica
        self.token = token
        self.raw_pool = pool
        from crisis_mas.service.progress import ProgressHub

        # Live progress of jobs (server-sent events): every run's events, routed by run id.
        self.progress = ProgressHub()
        self.assessor = serving_assessor(self.config, pool=pool, on_event=self.progress.publish)
        self.store = open_store(self.config.store)  # runs, jobs, registry... (one database)
        self.runs = self.store.runs
        self.jobs = JobStore(self.store, settings.api.job_stale_after_s)
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
            1, thread_name_prefix="shadow", initializer=lower_priority
        )
        self.shadow_wait_s = float(api.assessment_timeout_s)
        self._shadow_idle = threading.Event()
        self._shadow_idle.set()
        self._busy_lock = threading.Lock()
        self._inflight = 0

    def report(self, run_id: str) -> Report | None:
        """A stored run's report (None when unknown)."""
        return report_from(self.runs.get(run_id))

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
    def assess(
        self, scenario: Scenario, experts: list[str] | None, run_id: str | None = None
    ) -> tuple[Report, list[str]]:
        """One assessment through `Assessor.run`; saved (run store + drift input) before
        returning, then any shadow rollout is handed to the background worker. Raises ApiError:
        503 when no expert answered (the run is stored as failed first), 413 when the scenario
        is over the input limit."""
        from crisis_mas.errors import InputError
        from crisis_mas.runtime import persist_run

        with self._user_request():
            self._begin()
            try:
                report = self.assessor.run(scenario, experts, run_id=run_id)
            except InputError as err:  # e.g. over the input size limit, refused before any work
                raise ApiError(413, str(err), "invalid_request_error", "scenario") from None
            errors = self._errors()
            cancelled = next((e for e in errors if isinstance(e, ModelCancelled)), None)
            if cancelled is not None:  # the caller cancelled: nothing half-done is stored
                raise cancelled
            if report.status == "failed":  # no expert answered: stored as failed, then 503
                persist_run(self.config, scenario, report)
                stored = f" (run {report.run_id} stored as failed)"
                if errors:  # the engine's own status: 503, or 422 when it rejected the request
                    err = model_error(errors)
                    raise ApiError(err.status, err.message + stored, err.type, err.param)
                raise ApiError(
                    503, f"no expert answered: {report.status_reason}{stored}", "assessment_failed"
                )
            if errors:
                raise model_error(errors)
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
                raise model_error([err]) from None
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


def lower_priority() -> None:
    """Nice the shadow worker thread (Linux: per thread), so the ingress's own CPU work for user
    requests (retrieval, guards) goes first."""
    with contextlib.suppress(Exception):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def guard_input(state: ApiState, texts: list[str], where: str) -> None:
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


def open_retriever(state: ApiState) -> Any:
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
