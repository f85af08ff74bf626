"""Builds the configured ModelPool backend with the adapters of the given experts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crisis_mas.pool.adapters import adapter_refs
from crisis_mas.pool.base import ModelPool
from crisis_mas.pool.config import ModelConfig
from crisis_mas.pool.types import AdapterRef

if TYPE_CHECKING:
    from crisis_mas.store.core import StoreRef


def expert_adapters(
    config: ModelConfig, experts: list[str], store: StoreRef = None
) -> dict[str, AdapterRef]:
    """Adapter per expert id, for the experts that have one (and only if adapters are enabled);
    LoRA ids come from `store` (None: the default store), which every process building
    requests for the same engines must share."""
    if not config.use_adapters:
        return {}
    return adapter_refs(config, experts, store)


def build_pool(config: ModelConfig, adapters: list[AdapterRef]) -> ModelPool:
    if config.backend == "vllm":
        from crisis_mas.pool.backends.vllm import VLLMPool

        return VLLMPool(config, adapters)
    if config.backend == "transformers":
        from crisis_mas.pool.backends.hf import HFPool

        return HFPool(config, adapters)
    from crisis_mas.pool.backends.openai_compat import OpenAIPool

    return OpenAIPool(config, adapters)
