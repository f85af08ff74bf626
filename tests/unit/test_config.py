"""Config files: the embedded default and the GPU production config build the right engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from crisis_mas.config import AppConfig, load_config
from crisis_mas.errors import InputError
from crisis_mas.pool.backends.vllm import VLLMPool
from crisis_mas.pool.factory import expert_adapters

REPO = Path(__file__).resolve().parents[2]


def test_embedded_config_file_equals_the_defaults() -> None:
    cfg = load_config(REPO / "configs" / "embedded-cpu.yaml")
    assert cfg.model == AppConfig().model


def test_gpu_config_engine_arguments(tmp_path: Path) -> None:
    cfg = load_config(REPO / "configs" / "llama31-8b-gpu.yaml")
    # point the adapters at directories that look like peft output
    for e in ("fire", "police", "medical"):
        (tmp_path / e).mkdir()
        (tmp_path / e / "adapter_config.json").write_text("{}")
        cfg.model.adapters[e] = str(tmp_path / e)
    refs = expert_adapters(cfg.model, ["fire", "police", "medical"])
    assert [r.name for r in refs.values()] == ["fire", "police", "medical"]
    assert len({r.id for r in refs.values()}) == 3
    kw = VLLMPool(cfg.model, list(refs.values())).engine_kwargs()
    assert kw["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert kw["enable_lora"] and kw["max_loras"] == 8 and kw["max_lora_rank"] == 16
    assert kw["gpu_memory_utilization"] == 0.9
    assert "kv_cache_memory_bytes" not in kw
    assert kw["enforce_eager"] is False


def test_cpu_engine_keeps_a_free_lora_slot() -> None:
    from crisis_mas.pool.types import AdapterRef

    refs = [AdapterRef(name=n, id=i + 1, path="/x") for i, n in enumerate(("a", "b", "c"))]
    kw = VLLMPool(AppConfig().model, refs).engine_kwargs()
    assert kw["max_loras"] == 4  # vLLM CPU LoRA bug: never fill every slot
    assert kw["kv_cache_memory_bytes"] == 512 * 1024 * 1024


def test_unknown_config_key_is_named(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("model:\n  tempreature: 0.3\n")
    with pytest.raises(InputError, match="model.tempreature"):
        load_config(f)
