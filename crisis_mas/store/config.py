"""The store's config section (`AppConfig.store`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreConfig(_Strict):
    """Where runs and everything beside them are kept."""

    path: str | None = None  # default: $CRISIS_MAS_HOME/runs.db
