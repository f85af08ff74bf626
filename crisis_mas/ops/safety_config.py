"""Settings of the safety links (input/output guardrails, HAZMAT fact validation)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class GuardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: Literal["block", "warn"] = "block"


class HazmatConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
