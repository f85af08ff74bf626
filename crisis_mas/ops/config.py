"""Ops configuration: which middleware links run, in which order, and their settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from crisis_mas.ops.safety_config import GuardConfig, HazmatConfig


class OpsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Outermost first. Names resolve through crisis_mas.ops.chain.LINKS.
    chain: list[str] = Field(default_factory=list)
    guard: GuardConfig = Field(default_factory=GuardConfig)
    hazmat: HazmatConfig = Field(default_factory=HazmatConfig)
