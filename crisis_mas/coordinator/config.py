"""The coordinator's config section (`AppConfig.aggregation`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AggregationConfig(_Strict):
    """Evidence combination rule, belief vs TOPSIS weight, and the conflict threshold."""

    method: Literal["dempster", "yager", "weighted"] = "yager"
    # Final score = belief_weight * combined belief + (1 - belief_weight) * TOPSIS closeness.
    belief_weight: float = Field(default=0.5, ge=0, le=1)
    # JS divergence (bits) above which two experts with different first choices are a conflict.
    conflict_threshold: float = Field(default=0.05, ge=0, le=1)
    # Doctrine as one more evidence source: published rules from the action catalogue applied to
    # the scenario's facts (`experts.doctrine`), discounted by `doctrine_weight` like an expert's
    # reliability x relevance; it adds nothing when no rule separates the alternatives.
    doctrine: bool = True
    doctrine_weight: float = Field(default=0.9, gt=0, lt=1)
    doctrine_temperature: float = Field(default=1.0, gt=0, le=10)
