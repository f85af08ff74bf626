"""Typed configuration for a whole deployment: model pool, agents, aggregation, RAG, ops, store.

One `AppConfig` drives the CLI, the Serve app and the benchmarks; YAML files mirror it field by
field (`crisis-mas run --config FILE`, `crisis-mas serve --config FILE`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crisis_mas.errors import InputError
from crisis_mas.experts.reliability import ReliabilityConfig
from crisis_mas.middleware.config import OpsConfig
from crisis_mas.monitor.drift import DriftConfig
from crisis_mas.pool.types import SamplingConfig
from crisis_mas.rag.config import RagConfig
from crisis_mas.rollout.policy import RolloutConfig
from crisis_mas.scenario import describe_validation_error

EMBEDDED_BASE = "embedded:smollm2-135m-instruct"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenAIServerConfig(_Strict):
    """An OpenAI-compatible server (vLLM `serve`, LM Studio, Ollama, our own Serve app)."""

    base_url: str = "http://127.0.0.1:8000/v1"
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = 120.0
    max_concurrency: int = 8
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
    max_loras: int | None = None
    max_num_seqs: int = Field(default=32, ge=1)
    tensor_parallel_size: int = Field(default=1, ge=1)
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    # ~23 KiB per token for SmolLM2 in bf16: 512 MiB holds ~22k tokens (16+ concurrent prompts).
    kv_cache_memory_bytes: int | None = 512 * 1024 * 1024
    enforce_eager: bool = True
    # Run vLLM's engine core inside the calling process (VLLM_ENABLE_V1_MULTIPROCESSING=0).
    # None = inline on CPU, where two cores cannot feed three busy processes (engine core,
    # worker, front end): measured 1.3-1.8x faster per batch here; separate processes on GPU.
    inline_engine: bool | None = None
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    openai: OpenAIServerConfig = Field(default_factory=OpenAIServerConfig)


class AgentsConfig(_Strict):
    experts: list[str] | None = None  # None: select from the scenario
    max_retries: int = Field(default=1, ge=0, le=5)
    belief_temperature: float = Field(default=1.0, gt=0)


class AggregationConfig(_Strict):
    method: Literal["dempster", "yager", "weighted"] = "yager"
    # Final score = belief_weight * combined belief + (1 - belief_weight) * TOPSIS closeness.
    belief_weight: float = Field(default=0.5, ge=0, le=1)
    # JS divergence (bits) above which two experts with different first choices are a conflict.
    conflict_threshold: float = Field(default=0.05, ge=0, le=1)


class StoreConfig(_Strict):
    path: str | None = None  # default: $CRISIS_MAS_HOME/runs.db


class AppConfig(_Strict):
    model: ModelConfig = Field(default_factory=ModelConfig)
    agents: AgentsConfig = Field(default_factory=AgentsConfig)
    aggregation: AggregationConfig = Field(default_factory=AggregationConfig)
    rag: RagConfig = Field(default_factory=RagConfig)
    ops: OpsConfig = Field(default_factory=OpsConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    feedback: ReliabilityConfig = Field(default_factory=ReliabilityConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)


def load_config(path: str | Path | None) -> AppConfig:
    """Load an AppConfig from YAML/JSON (None gives the embedded defaults)."""
    if path is None:
        return AppConfig()
    p = Path(path)
    if not p.is_file():
        raise InputError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise InputError(f"{p}: malformed YAML: {err}") from None
    if not isinstance(data, dict):
        raise InputError(f"{p}: expected a mapping at the top level")
    # A Serve deploy file keeps the crisis-mas config under `crisis_mas:`.
    data = data.get("crisis_mas", data)
    try:
        return AppConfig.model_validate(data)
    except ValidationError as err:
        raise InputError(describe_validation_error(err, f"{p}: ")) from None
