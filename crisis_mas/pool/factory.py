"""Builds the configured ModelPool backend with the adapters of the given experts."""

from __future__ import annotations

from crisis_mas.pool.adapters import adapter_ref
from crisis_mas.pool.base import ModelPool
from crisis_mas.pool.config import ModelConfig
from crisis_mas.pool.types import AdapterRef


def expert_adapters(config: ModelConfig, experts: list[str]) -> dict[str, AdapterRef]:
    """Adapter per expert id, for the experts that have one (and only if adapters are enabled)."""
    if not config.use_adapters:
        return {}
    refs = {e: adapter_ref(config, e, experts) for e in experts}
    return {e: r for e, r in refs.items() if r is not None}


def build_pool(config: ModelConfig, adapters: list[AdapterRef]) -> ModelPool:
    if config.backend == "vllm":
        from crisis_mas.pool.backends.vllm import VLLMPool

        return VLLMPool(config, adapters)
    if config.backend == "transformers":
        from crisis_mas.pool.backends.hf import HFPool

        return HFPool(config, adapters)
    from crisis_mas.pool.backends.openai_compat import OpenAIPool

    return OpenAIPool(config, adapters)
