"""Per-expert LoRA adapters: where they live, what they were trained from, and their vLLM ids
(assigned once per adapter name by the store, so no two adapters share one anywhere).

An adapter directory holds peft's files plus `crisis_mas_adapter.json` (base, data hash, training
config, prompt version, final loss) so `crisis-mas adapters list` can say what each one is.
Adapters for the embedded base ship in the repo under `adapters/`; others go to $CRISIS_MAS_HOME.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from crisis_mas.paths import REPO_ROOT, home
from crisis_mas.pool.config import ModelConfig
from crisis_mas.pool.embedded import is_embedded
from crisis_mas.pool.training import META_FILE, AdapterInfo, sha256_file
from crisis_mas.pool.types import AdapterRef

if TYPE_CHECKING:
    from crisis_mas.store.core import StoreRef


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


def adapter_path(config: ModelConfig, expert: str) -> Path | None:
    """The expert's adapter directory if it holds an adapter."""
    path = adapter_dir(config, expert)
    return path if (path / "adapter_config.json").is_file() else None


def lora_ids(names: list[str], store: StoreRef = None) -> dict[str, int]:
    """Adapter name -> vLLM int id from the store's registry: the same in every process and node
    that shares the store, and never the same for two names (`fire@v2` vs `police@v2`)."""
    from crisis_mas.store import open_store

    return open_store(store).adapter_ids.ids(names)


def adapter_refs(
    config: ModelConfig, experts: list[str], store: StoreRef = None
) -> dict[str, AdapterRef]:
    """Expert -> AdapterRef for the experts whose adapter exists."""
    paths = {e: p for e in experts if (p := adapter_path(config, e)) is not None}
    ids = lora_ids(list(paths), store) if paths else {}
    return {e: AdapterRef(name=e, id=ids[e], path=str(p)) for e, p in paths.items()}


def list_adapters(config: ModelConfig) -> list[AdapterInfo]:
    root = adapters_root(config)
    paths = sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []
    paths += [Path(p) for p in config.adapters.values()]
    return [i for i in (read_info(p) for p in paths) if i is not None]
