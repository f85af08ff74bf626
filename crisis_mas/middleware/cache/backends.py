"""Where cached answers live: Redis (shared, `REDIS_URL`) or an embedded SQLite file (default).

The interface and stored records are in `base.py`, the two backends in `sqlite_backend.py` and
`redis_backend.py`; this module picks one from the config.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from crisis_mas.middleware.cache.base import COUNTERS, CacheBackend, SemanticRef, redact_url
from crisis_mas.middleware.cache.redis_backend import RedisBackend
from crisis_mas.middleware.cache.sqlite_backend import SQLiteBackend

if TYPE_CHECKING:
    from crisis_mas.middleware.config import CacheConfig

__all__ = [
    "COUNTERS",
    "CacheBackend",
    "RedisBackend",
    "SQLiteBackend",
    "SemanticRef",
    "open_backend",
    "redact_url",
    "redis_url",
]


def redis_url(cfg: CacheConfig) -> str | None:
    return cfg.redis_url or os.environ.get("REDIS_URL") or None


def open_backend(cfg: CacheConfig) -> CacheBackend:
    """Redis when configured (or forced), else the SQLite file under $CRISIS_MAS_HOME/cache."""
    url = redis_url(cfg)
    if cfg.backend == "redis" or (cfg.backend == "auto" and url):
        return RedisBackend(
            url or "redis://127.0.0.1:6379/0", cfg.redis_timeout_s, cfg.redis_max_connections
        )
    if cfg.sqlite_path:
        return SQLiteBackend(Path(cfg.sqlite_path).expanduser())
    from crisis_mas.paths import home

    return SQLiteBackend(home() / "cache" / "responses.db", own_folder=True)
