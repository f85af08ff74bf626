"""The one store: runs, jobs, feedback, eval results, drift inputs, the rollout registry, LoRA
adapter ids and the ops event log, in one database (SQLite file or PostgreSQL) with migrations.

`open_store(config.store)` gives the process's `Store` for that URL, upgraded on first open;
its repositories take and return the records of `crisis_mas.store.records`.
"""

from crisis_mas.store.config import StoreConfig
from crisis_mas.store.core import Store, StoreError, StoreRef, existing_store, open_store

__all__ = ["Store", "StoreConfig", "StoreError", "StoreRef", "existing_store", "open_store"]
