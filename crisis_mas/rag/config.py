"""RAG configuration."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RagConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
