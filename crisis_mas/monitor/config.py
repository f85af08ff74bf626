"""The monitor's config section (`AppConfig.drift`): data- and concept-drift thresholds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DriftConfig(BaseModel):
    """Thresholds (`AppConfig.drift`)."""

    model_config = ConfigDict(extra="forbid")

    window: int = Field(default=50, ge=1)  # most recent live runs compared with the reference
    min_samples: int = Field(default=5, ge=1)  # fewer recent inputs: no verdict
    # Cosine distance between centroids, with the RAG embedder (multilingual-e5-small, whose
    # cosines sit close together): 8 in-domain scenarios of the counterfactual suites vs the
    # bundled reference 0.022-0.029 (20 draws), a cyber/infrastructure set 0.072, the reference
    # itself 0. (With MiniLM the same sets gave 0.26 and 0.59.) Recalibrate with the embedder.
    data_threshold: float = Field(default=0.045, gt=0, lt=2)
    max_accuracy_drop: float = Field(default=0.10, gt=0, le=1)  # top-1 acceptable, absolute
    severity: Literal["info", "warning", "critical"] = "warning"
