"""The rollout config section (`AppConfig.rollout`): canary share, margins and sample sizes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RolloutConfig(BaseModel):
    """Margins and sample sizes (`AppConfig.rollout`)."""

    model_config = ConfigDict(extra="forbid")

    canary_fraction: float = Field(default=0.1, gt=0, lt=1)
    min_samples_per_arm: int = Field(default=30, ge=1)  # before promotion
    min_rollback_samples: int = Field(default=10, ge=1)  # before automatic rollback can fire
    # Rollback when candidate - incumbent exceeds these (absolute rates; p95 relative).
    error_rate_margin: float = Field(default=0.02, ge=0)
    hazmat_rate_margin: float = Field(default=0.0, ge=0)
    p95_latency_margin: float = Field(default=0.25, ge=0)  # +25% p95 latency
    # Promotion: p95 latency at most this much slower, and a significant offline quality gain.
    promote_latency_margin: float = Field(default=0.10, ge=0)
