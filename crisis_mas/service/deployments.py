"""The two Serve deployments' model side: the model-pool replica and the `ModelPool` that calls it.

`ModelPoolServer` hosts the base model and every expert adapter in one `AsyncEngine` per replica,
so any replica serves any expert and a batch mixing experts stays one batch. (`ray.serve.llm`
would fit the engine part, but it loads LoRA adapters only from cloud URIs — s3://, gs://, ... —
while ours sit on local disk; and `serve.multiplexed` routes one model id per request, which
would split an assessment's mixed-adapter batch across replicas.)

`RemotePool` is the `ModelPool` the ingress gives `Assessor`: the pipeline runs unchanged, and
each batch goes to a model-pool replica through the deployment handle with a deadline. Because
`Assessor` turns a `ModelPoolError` into failed assessments, the pool also records, per calling
thread, which errors happened and which replicas answered, so the API can return 503 and name
the replicas in a response header.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from typing import Any, Literal

from pydantic import BaseModel

from crisis_mas.pool.backends.vllm_async import (
    AsyncEngine,
    ModelRejected,
    ModelTimeout,
    ModelUnavailable,
)
from crisis_mas.pool.base import ModelPool, ModelPoolError
from crisis_mas.pool.config import ModelConfig
from crisis_mas.pool.types import (
    AdapterRef,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    ScoreRequest,
    ScoreResult,
)
from crisis_mas.service.streaming import CallControl, ModelCancelled, current_control
from crisis_mas.store.config import StoreConfig

ErrorKind = Literal["rejected", "timeout", "unavailable", "error"]
log = logging.getLogger("crisis_mas.service.deployments")
_ERRORS: dict[str, type[ModelPoolError]] = {
    "rejected": ModelRejected,
    "timeout": ModelTimeout,
    "unavailable": ModelUnavailable,
    "error": ModelPoolError,
}


def _kind(err: ModelPoolError) -> ErrorKind:
    for kind, cls in _ERRORS.items():
        if kind != "error" and isinstance(err, cls):
            return kind  # type: ignore[return-value]
    return "error"


class PoolReply(BaseModel):
    """What a model-pool replica returns: results or an error, and who answered."""

    replica: str
    generated: list[GenerationResult] | None = None
    scored: list[ScoreResult] | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None


class StreamChunk(BaseModel):
    """One item of a streamed generation: a text delta, the final result, or an error."""

    replica: str
    delta: str | None = None
    result: GenerationResult | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None


def replica_id() -> str:
    """This Serve replica's id (the process id outside Serve)."""
    try:
        from ray import serve

        return serve.get_replica_context().replica_id.unique_id
    except Exception:
        return f"pid-{os.getpid()}"


def roster_adapters(config: ModelConfig, store: StoreConfig | None = None) -> list[AdapterRef]:
    """Adapters of the whole expert roster, numbered by the store's adapter ids exactly as the
    ingress's `Assessor` numbers them (both must use the same store)."""
    from crisis_mas.experts.profiles import load_profiles
    from crisis_mas.pool.factory import expert_adapters

    return list(expert_adapters(config, list(load_profiles()), store).values())


class ModelPoolServer:
    """Serve deployment body: one AsyncLLM with all adapters; batches in, `PoolReply` out."""

    def __init__(
        self,
        model: dict[str, Any],
        executor_backend: str | None = None,
        store: dict[str, Any] | None = None,
    ):
        from crisis_mas.service.network import pin_replica_grpc

        pin_replica_grpc()  # Serve's replica gRPC server on the node IP, not [::]
        self.config = ModelConfig.model_validate(model)
        store_cfg = StoreConfig.model_validate(store) if store is not None else None
        self.replica = replica_id()
        extra = {"distributed_executor_backend": executor_backend} if executor_backend else None
        self.engine = AsyncEngine(self.config, roster_adapters(self.config, store_cfg), extra)
        self.engine.start()

    async def generate(self, requests: list[GenerationRequest], timeout_s: float) -> PoolReply:
        try:
            return PoolReply(
                replica=self.replica, generated=await self.engine.generate(requests, timeout_s)
            )
        except ModelPoolError as err:
            return PoolReply(replica=self.replica, error=str(err), error_kind=_kind(err))

    async def generate_stream(
        self, request: GenerationRequest, timeout_s: float
    ) -> AsyncIterator[StreamChunk]:
        """One request's text as it is generated (called with `handle.options(stream=True)`);
        a cancelled call (client gone) aborts the engine request."""
        try:
            async for item in self.engine.stream(request, timeout_s):
                if isinstance(item, str):
                    yield StreamChunk(replica=self.replica, delta=item)
                else:
                    yield StreamChunk(replica=self.replica, result=item)
        except ModelPoolError as err:
            yield StreamChunk(replica=self.replica, error=str(err), error_kind=_kind(err))

    async def score(self, requests: list[ScoreRequest], timeout_s: float) -> PoolReply:
        try:
            return PoolReply(
                replica=self.replica, scored=await self.engine.score(requests, timeout_s)
            )
        except ModelPoolError as err:
            return PoolReply(replica=self.replica, error=str(err), error_kind=_kind(err))

    async def health(self) -> dict[str, Any]:
        try:
            return {"replica": self.replica, **await self.engine.health()}
        except Exception as err:
            return {"replica": self.replica, "ok": False, "error": str(err)}

    def info(self) -> ModelInfo:
        return self.engine.info()

    async def check_health(self) -> None:
        """Serve's periodic probe: a dead engine fails it, so Serve replaces the replica."""
        await self.engine.health()

    def __del__(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.shutdown()


def replica_died(exc: BaseException) -> bool:
    """Whether a handle call failed because its replica (actor) died or became unreachable."""
    try:
        from ray.exceptions import RayActorError
    except ImportError:
        return False
    return isinstance(exc, RayActorError)


class _Calls(threading.local):
    def __init__(self) -> None:
        self.replicas: list[str] = []
        self.errors: list[ModelPoolError] = []


class RemotePool(ModelPool):
    """A `ModelPool` whose batches run on the model-pool deployment (called from worker threads)."""

    backend = "vllm"

    def __init__(self, handle: Any, info: ModelInfo, timeout_s: float, replica_retries: int = 2):
        self.handle = handle
        self._info = info
        self.timeout_s = timeout_s
        self.replica_retries = replica_retries
        self.retried = 0  # batches sent again after their replica died (for tests and logs)
        self._calls = _Calls()

    # -- per-thread bookkeeping for the API -----------------------------------------------------
    def begin(self) -> None:
        """Start recording this thread's calls (one API request runs in one worker thread)."""
        self._calls.replicas = []
        self._calls.errors = []

    def replicas(self) -> list[str]:
        return list(dict.fromkeys(self._calls.replicas))

    def errors(self) -> list[ModelPoolError]:
        return list(self._calls.errors)

    # -- ModelPool ------------------------------------------------------------------------------
    def _failed(self, err: ModelPoolError) -> ModelPoolError:
        self._calls.errors.append(err)
        return err

    def _refuse_if_cancelled(self, control: CallControl) -> None:
        """A cancelled request makes no further model calls (recorded, so the API never saves
        or returns the half-done report)."""
        if control.cancelled:
            raise self._failed(ModelCancelled("cancelled by the caller"))

    def _call(self, method: str, requests: list[Any]) -> PoolReply:
        """One batch on a model-pool replica. A replica that dies under the batch (killed,
        out of memory) is not the caller's fault and generation has no side effects: the batch
        is sent again, and Serve routes it to a live replica (up to `replica_retries` times)."""
        control = current_control() or CallControl()
        attempt = 0
        while True:
            self._refuse_if_cancelled(control)
            response = getattr(self.handle, method).remote(requests, self.timeout_s)
            try:
                # A little slack over the replica's own deadline, which aborts the engine
                # requests.
                with control.tracking(response):
                    reply: PoolReply = response.result(timeout_s=self.timeout_s + 15)
                break
            except ModelCancelled as err:
                raise self._failed(err) from None
            except TimeoutError:
                response.cancel()
                err: ModelPoolError = ModelTimeout(
                    f"the model pool did not answer within {self.timeout_s:g} s"
                )
                self._calls.errors.append(err)
                raise err from None
            except Exception as exc:  # replica died, deployment gone, serialisation failure
                if control.cancelled:
                    raise self._failed(ModelCancelled("cancelled by the caller")) from None
                if attempt < self.replica_retries and replica_died(exc):
                    attempt += 1
                    self.retried += 1
                    log.warning(
                        "model-pool replica died under a %s batch (%s); sending it again (%d/%d)",
                        method,
                        type(exc).__name__,
                        attempt,
                        self.replica_retries,
                    )
                    continue
                died = " (the replica died)" if replica_died(exc) else ""
                err = ModelUnavailable(
                    f"model pool unavailable{died}: {type(exc).__name__}: {exc}"[:500]
                )
                self._calls.errors.append(err)
                raise err from exc
        self._calls.replicas.append(reply.replica)
        if reply.error is not None:
            err = _ERRORS[reply.error_kind or "error"](reply.error)
            self._calls.errors.append(err)
            raise err
        return reply

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        if not requests:
            return []
        control = current_control()
        if control is not None and control.on_delta is not None and len(requests) == 1:
            return [self._stream(requests[0], control)]
        return self._call("generate", requests).generated or []

    def _stream(self, request: GenerationRequest, control: CallControl) -> GenerationResult:
        """One request streamed from a model-pool replica: deltas go to the control's sink as
        they arrive; the final result is returned like `generate`'s."""
        self._refuse_if_cancelled(control)
        chunks = self.handle.options(stream=True).generate_stream.remote(request, self.timeout_s)
        result: GenerationResult | None = None
        try:
            with control.tracking(chunks):
                for chunk in chunks:
                    if chunk.error is not None:
                        self._calls.replicas.append(chunk.replica)
                        raise self._failed(_ERRORS[chunk.error_kind or "error"](chunk.error))
                    if chunk.delta:
                        control.check()
                        control.on_delta(chunk.delta)  # type: ignore[misc]
                    if chunk.result is not None:
                        self._calls.replicas.append(chunk.replica)
                        result = chunk.result
        except ModelCancelled as err:  # the client went away: abort the engine request
            chunks.cancel()
            raise self._failed(err) from None
        except ModelPoolError:  # recorded where raised
            raise
        except Exception as exc:
            if control.cancelled:
                raise self._failed(ModelCancelled("cancelled by the caller")) from None
            raise self._failed(
                ModelUnavailable(f"model pool unavailable: {type(exc).__name__}: {exc}"[:500])
            ) from exc
        if result is None:
            raise self._failed(ModelUnavailable("the model pool ended the stream without a result"))
        return result

    def score(self, requests: list[ScoreRequest]) -> list[ScoreResult]:
        if not requests:
            return []
        return self._call("score", requests).scored or []

    def info(self) -> ModelInfo:
        return self._info

    def health(self) -> dict:
        """One model-pool replica's health (Serve picks which); never raises."""
        try:
            out = self.handle.health.remote().result(timeout_s=10)
        except Exception as err:
            return {"ok": False, "error": f"{type(err).__name__}: {err}"[:300]}
        return out
