"""`AppConfig`: one typed configuration for a whole deployment, assembled from the sections each
layer owns (pool, experts, coordinator, rag, middleware, store, monitor, rollout).

One `AppConfig` drives the CLI, the Serve app and the benchmarks; YAML files mirror it field by
field (`crisis-mas run --config FILE`, `crisis-mas serve --config FILE`). This module only
assembles and loads; section models live with their layer.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crisis_mas.coordinator.config import AggregationConfig
from crisis_mas.errors import InputError, describe_validation_error
from crisis_mas.experts.config import AgentsConfig, ReliabilityConfig
from crisis_mas.middleware.config import OpsConfig
from crisis_mas.monitor.config import DriftConfig
from crisis_mas.pool.config import ModelConfig
from crisis_mas.rag.config import RagConfig
from crisis_mas.rollout.config import RolloutConfig
from crisis_mas.store.config import StoreConfig
from crisis_mas.textio import parse_yaml, read_text_file


class AppConfig(BaseModel):
    """Every section of a deployment; unknown keys anywhere are errors."""

    model_config = ConfigDict(extra="forbid")

    model: ModelConfig = Field(default_factory=ModelConfig)
    agents: AgentsConfig = Field(default_factory=AgentsConfig)
    aggregation: AggregationConfig = Field(default_factory=AggregationConfig)
    rag: RagConfig = Field(default_factory=RagConfig)
    ops: OpsConfig = Field(default_factory=OpsConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    feedback: ReliabilityConfig = Field(default_factory=ReliabilityConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)

    @model_validator(mode="after")
    def _one_store(self) -> AppConfig:
        """The ops event log lives in the deployment's store (links only see `ops`)."""
        self.ops.metrics.store = self.store
        return self


def load_config(path: str | Path | None) -> AppConfig:
    """Load an AppConfig from YAML/JSON (None gives the embedded defaults)."""
    if path is None:
        return AppConfig()
    p = Path(path)
    data = parse_yaml(read_text_file(p, "config file"), str(p)) or {}  # bounded (textio)
    if not isinstance(data, dict):
        raise InputError(f"{p}: expected a mapping at the top level")
    # A Serve deploy file keeps the crisis-mas config under `crisis_mas:`.
    data = data.get("crisis_mas", data)
    try:
        return AppConfig.model_validate(data)
    except ValidationError as err:
        raise InputError(describe_validation_error(err, f"{p}: ")) from None
