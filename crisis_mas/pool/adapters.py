"""Per-expert LoRA adapters: where they live, what they were trained from, and their vLLM ids.

An adapter directory holds peft's files plus `crisis_mas_adapter.json` (base, data hash, training
config, prompt version, final loss) so `crisis-mas adapters list` can say what each one is.
Adapters for the embedded base ship in the repo under `adapters/`; others go to $CRISIS_MAS_HOME.
"""

from __future__ import annotations

import re
from pathlib import Path

from crisis_mas.paths import REPO_ROOT, home
from crisis_mas.pool.config import ModelConfig
from crisis_mas.pool.embedded import is_embedded
from crisis_mas.pool.training import META_FILE, AdapterInfo, sha256_file
from crisis_mas.pool.types import AdapterRef


def base_slug(base: str) -> str:
    return re.sub(r"[^a-zA-Z0-9._-]+", "_", base.split(":", 1)[-1]).strip("_").lower()


def adapters_root(config: ModelConfig) -> Path:
    if config.adapters_dir:
        return Path(config.adapters_dir).expanduser()
    if is_embedded(config.base):
        return REPO_ROOT / "adapters" / base_slug(config.base)
    return home() / "adapters" / base_slug(config.base)


def adapter_dir(config: ModelConfig, expert: str) -> Path:
    if expert in config.adapters:
        return Path(config.adapters[expert]).expanduser()
    return adapters_root(config) / expert


def read_info(path: Path) -> AdapterInfo | None:
    meta = path / META_FILE
    if not meta.is_file() or not (path / "adapter_config.json").is_file():
        return None
    info = AdapterInfo.model_validate_json(meta.read_text())
    data = Path(info.data_file)
    data = data if data.is_absolute() else REPO_ROOT / data
    info.stale = data.is_file() and sha256_file(data) != info.data_sha256
    return info


def adapter_ref(config: ModelConfig, expert: str, all_experts: list[str]) -> AdapterRef | None:
    """The AdapterRef for an expert if its adapter exists; ids are stable across runs."""
    path = adapter_dir(config, expert)
    if not (path / "adapter_config.json").is_file():
        return None
    order = sorted(set(all_experts) | {expert})
    return AdapterRef(name=expert, id=order.index(expert) + 1, path=str(path))


def list_adapters(config: ModelConfig) -> list[AdapterInfo]:
    root = adapters_root(config)
    paths = sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []
    paths += [Path(p) for p in config.adapters.values()]
    return [i for i in (read_info(p) for p in paths) if i is not None]
