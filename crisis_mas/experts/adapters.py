"""Each expert's adapter: its training set (crisis_mas/experts/training/<expert>.jsonl, rendered
by the runtime prompt renderer) and training the missing ones before a run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from crisis_mas.errors import CrisisMasError
from crisis_mas.experts.prompting import prompt_version
from crisis_mas.pool.adapters import adapter_dir, adapter_path
from crisis_mas.pool.config import ModelConfig
from crisis_mas.pool.training import AdapterInfo, TrainingConfig, train_adapter

TRAINING_DIR = Path(__file__).resolve().parent / "training"


def training_file(expert: str) -> Path:
    """The chat JSONL an expert's adapter is trained on."""
    return TRAINING_DIR / f"{expert}.jsonl"


def train_expert(
    config: ModelConfig,
    expert: str,
    training: TrainingConfig | None = None,
    out: Path | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> AdapterInfo:
    """Train one expert's adapter on its own training set with the current prompt version."""
    out = out or adapter_dir(config, expert)
    return train_adapter(
        config, expert, training_file(expert), prompt_version(), out, training, progress
    )


def ensure_adapters(
    config: ModelConfig,
    experts: list[str],
    on_train: Callable[[str], Callable[[int, int, float], None] | None] | None = None,
) -> list[str]:
    """Train adapters that are missing for these experts; returns the experts trained."""
    trained = []
    for e in experts:
        if adapter_path(config, e) is None:
            if not training_file(e).is_file():
                raise CrisisMasError(f"no adapter and no training set for expert '{e}'")
            train_expert(config, e, progress=on_train(e) if on_train else None)
            trained.append(e)
    return trained
