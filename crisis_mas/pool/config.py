"""The model pool's config section (`AppConfig.model`): base model, adapters and the engine."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crisis_mas.pool.types import SamplingConfig

EMBEDDED_BASE = "embedded:smollm2-135m-instruct"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenAIServerConfig(_Strict):
    """An OpenAI-compatible server (vLLM `serve`, LM Studio, Ollama, our own Serve app)."""

    base_url: str = "http://127.0.0.1:8000/v1"
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = Field(default=120.0, gt=0)
    max_concurrency: int = Field(default=8, ge=1)
    # Model name to send for each expert id; unmapped experts use the base model name.
    expert_models: dict[str, str] = Field(default_factory=dict)


class ModelConfig(_Strict):
    """The shared base model, its per-expert adapters and the engine that runs them."""

    backend: Literal["vllm", "transformers", "openai"] = "vllm"
    base: str = EMBEDDED_BASE
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "bfloat16"
    device: Literal["cpu", "cuda"] = "cpu"
    max_model_len: int = Field(default=4096, ge=256)
    # Adapter directory per expert id; experts not listed use `adapters_dir/<expert>`.
    adapters: dict[str, str] = Field(default_factory=dict)
    adapters_dir: str | None = None
    use_adapters: bool = True
    max_lora_rank: int = Field(default=8, ge=1)
    # vLLM's CPU LoRA path has a bug when all slots are full: keep >= distinct adapters + 1.
    max_loras: int | None = Field(default=None, ge=1)
    max_num_seqs: int = Field(default=32, ge=1)
    tensor_parallel_size: int = Field(default=1, ge=1)
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    # ~23 KiB per token for SmolLM2 in bf16: 512 MiB holds ~22k tokens (16+ concurrent prompts).
    kv_cache_memory_bytes: int | None = Field(default=512 * 1024 * 1024, ge=1024 * 1024)
    enforce_eager: bool = True
    # Run vLLM's engine core inside the calling process (VLLM_ENABLE_V1_MULTIPROCESSING=0).
    # None = inline on CPU, where two cores cannot feed three busy processes (engine core,
    # worker, front end): measured 1.3-1.8x faster per batch here; separate processes on GPU.
    inline_engine: bool | None = None
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    openai: OpenAIServerConfig = Field(default_factory=OpenAIServerConfig)
