"""The monitor's config section (`AppConfig.drift`): data- and concept-drift thresholds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DriftConfig(BaseModel):
    """Thresholds (`AppConfig.drift`)."""

    model_config = ConfigDict(extra="forbid")

    window: int = Field(default=50, ge=1)  # most recent live runs compared with the reference
    min_samples: int = Field(default=5, ge=1)  # fewer recent inputs: no verdict
    # Cosine distance between centroids. Measured with MiniLM: in-domain paraphrases of the
    # bundled scenarios 0.26, a cyber/infrastructure set 0.59, the reference itself 0.
    data_threshold: float = Field(default=0.35, gt=0, lt=2)
    max_accuracy_drop: float = Field(default=0.10, gt=0, le=1)  # top-1 acceptable, absolute
    severity: Literal["info", "warning", "critical"] = "warning"
