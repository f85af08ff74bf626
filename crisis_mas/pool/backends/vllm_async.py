"""An asynchronous vLLM engine (v1 `AsyncLLM`) for the Serve model-pool deployment.

`VLLMPool` drives the offline `vllm.LLM`: one call blocks until its whole batch is done, so two
HTTP requests could never share a batch. Here every request is submitted to `AsyncLLM` as its own
coroutine, so concurrent callers (several assessments, chat completions) are continuously batched
by the engine, each row with its own `LoRARequest`.

Engine arguments come from `VLLMPool.engine_kwargs()`, so the CLI and the server start identical
engines (same model, dtype, KV cache, LoRA slots). Prompts are rendered with the same chat
template code, and scoring uses the same context/continuation tokenisation, so beliefs match the
CLI's. Every batch has a deadline: on timeout its requests are aborted in the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from crisis_mas.pool.backends.vllm import VLLMPool, _cpu_env, sampling_params
from crisis_mas.pool.backends.vllm_scoring import (
    cached_score_params,
    collect_scores,
    exact_score_params,
    fill_from_siblings,
    row_sums,
    score_jobs,
    token_logprobs,
    unique_contexts,
    warm_params,
)
from crisis_mas.pool.base import ModelPoolError
from crisis_mas.pool.chat_template import prompt_text
from crisis_mas.pool.config import ModelConfig
from crisis_mas.pool.types import (
    AdapterRef,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    ScoreRequest,
    ScoreResult,
    is_candidate,
)


class ModelRejected(ModelPoolError):
    """The request itself cannot be served (prompt too long, unknown adapter): a client error."""


class ModelTimeout(ModelPoolError):
    """The model did not answer within the deadline; the request was aborted in the engine."""


class ModelUnavailable(ModelPoolError):
    """The engine is dead or not started; the replica should be restarted."""


def engine_kwargs(config: ModelConfig, adapters: list[AdapterRef]) -> dict[str, Any]:
    """The engine arguments `VLLMPool` would use (one source of truth for CLI and server)."""
    return VLLMPool(config, adapters).engine_kwargs()


class AsyncEngine:
    """Base model + all expert adapters in one `AsyncLLM`; generate and score as coroutines."""

    backend = "vllm"

    def __init__(
        self,
        config: ModelConfig,
        adapters: list[AdapterRef],
        extra_engine_args: dict[str, Any] | None = None,
    ):
        self.config = config
        self.adapters = {a.name: a for a in adapters}
        # Serving-only engine arguments, e.g. distributed_executor_backend="ray" for tensor
        # parallelism inside a Serve replica.
        self.extra_engine_args = dict(extra_engine_args or {})
        self._engine: Any = None
        self._tok: Any = None
        self.max_model_len = config.max_model_len
        self.started_at: float | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Build the engine (blocking, ~20 s on CPU). Call once, from the serving process."""
        if self._engine is not None:
            return
        _cpu_env(self.config)
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        kw = {**engine_kwargs(self.config, list(self.adapters.values())), **self.extra_engine_args}
        try:
            args = AsyncEngineArgs(**kw, disable_log_stats=True)
            self._engine = AsyncLLM.from_engine_args(args)
        except Exception as err:
            raise ModelUnavailable(f"vLLM engine failed to start: {err}") from err
        self._tok = self._engine.get_tokenizer()
        self.max_model_len = int(self._engine.model_config.max_model_len)
        self.started_at = time.time()

    @property
    def started(self) -> bool:
        return self._engine is not None

    def tokenizer(self) -> Any:
        self._require()
        return self._tok

    def _require(self) -> Any:
        if self._engine is None:
            raise ModelUnavailable("the model engine is not started")
        if self._engine.errored:
            raise ModelUnavailable("the model engine has died (the replica will be restarted)")
        return self._engine

    def shutdown(self) -> None:
        if self._engine is not None:
            with contextlib.suppress(Exception):
                self._engine.shutdown()
            self._engine = None

    def info(self) -> ModelInfo:
        return ModelInfo(
            base=self.config.base,
            backend=self.backend,
            adapters=list(self.adapters),
            loads_candidates=True,
        )

    async def health(self) -> dict[str, Any]:
        """Engine liveness plus the load it carries (raises ModelUnavailable when dead)."""
        engine = self._require()
        await engine.check_health()
        return {
            "ok": True,
            "engine": "running",
            "unfinished_requests": engine.get_num_unfinished_requests(),
            "max_model_len": self.max_model_len,
            **self.info().model_dump(),
        }

    # -- helpers --------------------------------------------------------------------------------
    def _lora(self, adapter: AdapterRef | None) -> Any:
        if adapter is None:
            return None
        known = self.adapters.get(adapter.name)
        if known is None and is_candidate(adapter):
            self.adapters[adapter.name] = known = adapter  # vLLM loads it on first use
        if known is None or known.path != adapter.path:
            raise ModelRejected(
                f"adapter '{adapter.name}' is not loaded in the model pool "
                f"(loaded: {', '.join(self.adapters) or 'none'})"
            )
        from vllm.lora.request import LoRARequest

        return LoRARequest(known.name, known.id, known.path)

    def _check_len(self, n_prompt: int, what: str) -> None:
        if n_prompt >= self.max_model_len:
            raise ModelRejected(
                f"{what} is {n_prompt} tokens; the model accepts at most "
                f"{self.max_model_len - 1} (max_model_len {self.max_model_len})"
            )

    async def _run_all(self, jobs: list[Any], timeout_s: float, what: str) -> list[Any]:
        """Run coroutines concurrently with one deadline; on timeout they are cancelled, which
        makes vLLM abort their requests, so a slow batch never keeps the engine busy."""
        tasks = [asyncio.ensure_future(j) for j in jobs]
        try:
            return await asyncio.wait_for(asyncio.gather(*tasks), timeout=timeout_s)
        except TimeoutError:
            raise ModelTimeout(f"{what} timed out after {timeout_s:g} s") from None
        except ModelPoolError:
            raise
        except Exception as err:
            raise _pool_error(err, what) from err
        finally:
            for t in tasks:
                if not t.done():
                    t.cancel()

    async def _final(self, prompt: Any, params: Any, lora: Any) -> tuple[Any, float]:
        engine = self._require()
        t0 = time.perf_counter()
        last = None
        async for out in engine.generate(prompt, params, uuid.uuid4().hex, lora_request=lora):
            last = out
        return last, (time.perf_counter() - t0) * 1000

    # -- calls ----------------------------------------------------------------------------------
    async def generate(
        self, requests: list[GenerationRequest], timeout_s: float
    ) -> list[GenerationResult]:
        """Each request is its own engine request; the engine batches them with everyone else's."""
        if not requests:
            return []
        self._require()
        jobs = [self._final(*self._prepare(r)) for r in requests]
        outs = await self._run_all(jobs, timeout_s, "generation")
        return [_result(r, o, ms) for r, (o, ms) in zip(requests, outs, strict=True)]

    def _prepare(self, r: GenerationRequest) -> tuple[Any, Any, Any]:
        """Engine prompt, sampling parameters and LoRA request of one generation request."""
        from vllm.inputs import TokensPrompt

        # Same prompt text as VLLMPool: the chat template plus any prefilled answer start.
        ids = self._tok.encode(prompt_text(self._tok, r))
        self._check_len(len(ids), "the prompt")
        s = r.sampling.model_copy(
            update={"max_tokens": min(r.sampling.max_tokens, self.max_model_len - len(ids))}
        )
        return TokensPrompt(prompt_token_ids=ids), sampling_params(s), self._lora(r.adapter)

    async def stream(
        self, request: GenerationRequest, timeout_s: float
    ) -> AsyncIterator[str | GenerationResult]:
        """One request's text as it is generated: `str` deltas, then the `GenerationResult`.

        The deadline covers the whole request; on timeout, or when the consumer stops iterating
        (client gone), the pending step is cancelled and vLLM aborts the request.
        """
        engine = self._require()
        prompt, params, lora = self._prepare(request)
        t0 = time.perf_counter()
        deadline = time.monotonic() + timeout_s
        steps = engine.generate(prompt, params, uuid.uuid4().hex, lora_request=lora)
        sent, last = 0, None
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                try:
                    out = await asyncio.wait_for(steps.__anext__(), left)
                except StopAsyncIteration:
                    break
                last = out
                text = out.outputs[0].text
                if len(text) > sent:
                    yield text[sent:]
                    sent = len(text)
        except TimeoutError:
            raise ModelTimeout(f"generation timed out after {timeout_s:g} s") from None
        except (ModelPoolError, GeneratorExit, asyncio.CancelledError):
            raise
        except Exception as err:
            raise _pool_error(err, "generation") from err
        finally:
            with contextlib.suppress(Exception):
                await steps.aclose()
        if last is None:
            raise ModelPoolError("generation produced no output")
        yield _result(request, last, (time.perf_counter() - t0) * 1000)

    async def _pass(
        self, prompts: list[list[int]], params: Any, loras: list[Any], timeout_s: float
    ) -> list[tuple[Any, float]]:
        """One scoring pass: every prompt (token ids) under its adapter, concurrently."""
        from vllm.inputs import TokensPrompt

        calls = [
            self._final(TokensPrompt(prompt_token_ids=ids), params, lora)
            for ids, lora in zip(prompts, loras, strict=True)
        ]
        return await self._run_all(calls, timeout_s, "scoring")

    async def score(self, requests: list[ScoreRequest], timeout_s: float) -> list[ScoreResult]:
        """Sum of log-probabilities of each continuation after the prompt (prompt_logprobs):
        each distinct context is prefilled once into the prefix cache, then every continuation
        computes only its own tail."""
        if not requests:
            return []
        self._require()
        loras = [self._lora(r.adapter) for r in requests]
        jobs = score_jobs(self._tok, requests)
        for j in jobs:
            self._check_len(len(j.ids), "the scoring prompt")
        warm = unique_contexts(jobs)
        if warm:
            contexts = [jobs[k].context for k in warm]
            await self._pass(
                contexts, warm_params(), [loras[jobs[k].request] for k in warm], timeout_s
            )
        # Prompt logprobs reading the prefix cache: exact for every position the engine computes
        # (vLLM skips the cache for prompt_logprobs by default, which would prefill each
        # continuation's whole context again). Positions read from the cache are filled from a
        # sibling continuation that computed them, or scored again without the cache.
        job_loras = [loras[j.request] for j in jobs]
        outs = await self._pass([j.ids for j in jobs], cached_score_params(), job_loras, timeout_s)
        rows = [token_logprobs(o, j) for (o, _), j in zip(outs, jobs, strict=True)]
        ms = [m for _, m in outs]
        fill_from_siblings(jobs, rows)
        redo = [k for k, row in enumerate(rows) if None in row]
        if redo:
            again = await self._pass(
                [jobs[k].ids for k in redo],
                exact_score_params(),
                [job_loras[k] for k in redo],
                timeout_s,
            )
            for k, (o, more) in zip(redo, again, strict=True):
                rows[k], ms[k] = token_logprobs(o, jobs[k]), ms[k] + more
        return collect_scores(requests, jobs, row_sums(rows), ms)


def _result(r: GenerationRequest, o: Any, ms: float) -> GenerationResult:
    comp = o.outputs[0]
    return GenerationResult(
        request_id=r.request_id,
        text=r.assistant_prefix + comp.text,
        prompt_tokens=len(o.prompt_token_ids or []),
        completion_tokens=len(comp.token_ids),
        latency_ms=ms,
        finish_reason=comp.finish_reason,
    )


def _pool_error(err: Exception, what: str) -> ModelPoolError:
    """An engine exception as the pool error the API maps to a status (dead: 503, bad: 422)."""
    from vllm.exceptions import VLLMClientError
    from vllm.v1.engine.exceptions import EngineDeadError

    if isinstance(err, EngineDeadError):
        return ModelUnavailable(f"{what} failed: the model engine died")
    if isinstance(err, (VLLMClientError, ValueError)):
        return ModelRejected(f"{what} rejected: {err}")
    return ModelPoolError(f"{what} failed: {type(err).__name__}: {err}")
