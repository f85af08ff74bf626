"""LoRA adapter ids: vLLM needs a distinct int id per adapter in an engine, and every process
that builds requests for that engine (ingress replicas, model-pool replicas, CLI runs, on any
node sharing the store) must number an adapter the same way. The first use of a name assigns
the next id; an id is never changed or reused, so processes may cache them forever."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from crisis_mas.store.schema import adapter_ids
from crisis_mas.store.sql import insert_ignore

if TYPE_CHECKING:
    from crisis_mas.store.base import Transactions


class AdapterIds:
    def __init__(self, store: Transactions) -> None:
        self.store = store
        self._known: dict[str, int] = {}
        self._lock = threading.Lock()

    def ids(self, names: list[str]) -> dict[str, int]:
        """Name -> id for every name, assigning ids to new names (atomically: when two processes
        name a new adapter at once, the unique key keeps one row and both read it back)."""
        with self._lock:
            missing = sorted(set(names) - set(self._known))
        if missing:
            now = datetime.now(UTC).isoformat(timespec="milliseconds")
            with self.store.write() as conn:
                insert_ignore(conn, adapter_ids, [{"name": n, "created_at": now} for n in missing])
                q = select(adapter_ids.c.name, adapter_ids.c.id).where(
                    adapter_ids.c.name.in_(missing)
                )
                found = {name: int(i) for name, i in conn.execute(q)}
            with self._lock:
                self._known.update(found)
        with self._lock:
            return {n: self._known[n] for n in names}

    def id(self, name: str) -> int:
        return self.ids([name])[name]

    def all(self) -> dict[str, int]:
        with self.store.read() as conn:
            return {
                n: int(i) for n, i in conn.execute(select(adapter_ids.c.name, adapter_ids.c.id))
            }
