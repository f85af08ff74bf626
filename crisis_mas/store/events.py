"""The ops event log (one row per model call; the alert rules read it) and the alerts' throttle
state. Prometheus counters die with the process; these rows outlive it and are shared by every
process (and node) on the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, insert, select

from crisis_mas.store.records import EVENT_FIELDS, AlertStateRecord
from crisis_mas.store.schema import alert_state, events
from crisis_mas.store.sql import upsert

if TYPE_CHECKING:
    from crisis_mas.store.base import Transactions

A = alert_state.c


class EventLog:
    """Append-only model-call events: dicts with the keys of `EVENT_FIELDS`."""

    def __init__(self, store: Transactions) -> None:
        self.store = store

    @property
    def where(self) -> str:
        return self.store.url

    def record(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            with self.store.write() as conn:
                conn.execute(insert(events), [{f: e.get(f) for f in EVENT_FIELDS} for e in rows])

    def since(self, ts: float) -> list[dict[str, Any]]:
        cols = [events.c[f] for f in EVENT_FIELDS]
        q = select(*cols).where(events.c.ts >= ts).order_by(events.c.ts, events.c.id)
        with self.store.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def count(self) -> int:
        with self.store.read() as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())

    def prune(self, before_ts: float) -> int:
        """Drop events older than `before_ts` (the retention window); returns how many."""
        with self.store.write() as conn:
            return int(conn.execute(delete(events).where(events.c.ts < before_ts)).rowcount)


class AlertSession:
    """Alert throttle state inside one write transaction (read, decide, write back)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, fingerprint: str) -> AlertStateRecord | None:
        r = self.conn.execute(select(alert_state).where(A.fingerprint == fingerprint)).first()
        return AlertStateRecord(**r._mapping) if r else None

    def put(self, rec: AlertStateRecord) -> None:
        upsert(self.conn, alert_state, rec.model_dump(), ("fingerprint",))

    def delete(self, fingerprint: str) -> None:
        self.conn.execute(delete(alert_state).where(A.fingerprint == fingerprint))

    def fingerprints(self) -> list[str]:
        return list(self.conn.execute(select(A.fingerprint)).scalars())


class AlertStates:
    def __init__(self, store: Transactions) -> None:
        self.store = store

    @contextmanager
    def session(self) -> Iterator[AlertSession]:
        """One transaction: two processes evaluating alerts at once do not both notify."""
        with self.store.write() as conn:
            if conn.dialect.name == "postgresql":  # serialise evaluations like SQLite's lock
                conn.execute(select(func.pg_advisory_xact_lock(0x0C415353_414C5254)))
            yield AlertSession(conn)
