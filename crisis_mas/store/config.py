"""The store's config section (`AppConfig.store`): one database URL for everything kept."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMES = ("sqlite", "postgresql", "postgres")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreConfig(_Strict):
    """Where runs, jobs, feedback, evals, the rollout registry and the event log are kept.

    `url` is a SQLAlchemy URL: `sqlite:///ABSOLUTE/PATH.db` (an embedded file; the default is
    `$CRISIS_MAS_HOME/runs.db`) or `postgresql://USER@HOST:PORT/DB` (psycopg 3) when several
    nodes share one store. Passwords belong in `PGPASSWORD` or `~/.pgpass`, not in the URL.
    """

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    # Deprecated alias of `url: sqlite:///PATH` (the run store file of earlier versions).
    path: str | None = Field(default=None, min_length=1, max_length=2000)
    # SQLite: how long a writer waits for another process's write lock before failing.
    busy_timeout_s: float = Field(default=30.0, gt=0, le=600)
    # PostgreSQL: connections kept open per process (plus up to as many again under load).
    pool_size: int = Field(default=5, ge=1, le=100)
    # Apply pending migrations when a process opens the store (else `crisis-mas db upgrade`).
    auto_upgrade: bool = True

    @model_validator(mode="after")
    def _one_location(self) -> StoreConfig:
        if self.url is not None and self.path is not None:
            raise ValueError("give store.url or the deprecated store.path, not both")
        if self.url is not None:
            scheme = self.url.split(":", 1)[0].split("+", 1)[0].lower()
            if "://" not in self.url or scheme not in SCHEMES:
                raise ValueError(
                    "store.url must be sqlite:///PATH or postgresql://USER@HOST/DB, "
                    f"not {self.url.split('://', 1)[0]!r}"
                )
        return self
