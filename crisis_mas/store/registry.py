"""The adapter registry's tables: versions per expert, one rollout per expert, and the samples
both arms of a rollout collect. The rules (routing, promotion, rollback) live in `rollout/`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, exc, func, insert, or_, select, update

from crisis_mas.store.records import (
    AdapterVersionRecord,
    RolloutRecord,
    SampleRecord,
    ServingRecord,
)
from crisis_mas.store.schema import adapter_versions, rollout_samples, rollouts
from crisis_mas.store.sql import upsert

if TYPE_CHECKING:
    from crisis_mas.store.base import Transactions

V = adapter_versions.c
R = rollouts.c
S = rollout_samples.c


def _version(r: Any) -> AdapterVersionRecord:
    m = r._mapping
    return AdapterVersionRecord(
        **{**m, "info": json.loads(m["info"]), "evals": json.loads(m["evals"])}
    )


class RegistryRepo:
    def __init__(self, store: Transactions) -> None:
        self.store = store

    # -- versions -------------------------------------------------------------------------------
    def add_version(self, expert: str, status: str, registered_at: str, info: dict) -> int:
        """Register the next version of an expert; returns its number. Two processes adding a
        version at once both get one: PostgreSQL serialises them per expert with a transaction
        advisory lock (SQLite's write lock does the same); a key race left over retries."""
        for attempt in range(5):
            try:
                with self.store.write() as conn:
                    if conn.dialect.name == "postgresql":
                        key = func.hashtext(f"crisis-mas:adapter_versions:{expert}")
                        conn.execute(select(func.pg_advisory_xact_lock(key)))
                    top = conn.execute(
                        select(func.coalesce(func.max(V.version), 0)).where(V.expert == expert)
                    ).scalar_one()
                    conn.execute(
                        insert(adapter_versions).values(
                            expert=expert,
                            version=top + 1,
                            status=status,
                            registered_at=registered_at,
                            info=json.dumps(info),
                            evals="{}",
                        )
                    )
                return int(top) + 1
            except exc.IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def versions(self, expert: str | None = None) -> list[AdapterVersionRecord]:
        q = select(adapter_versions).order_by(V.expert, V.version)
        if expert:
            q = q.where(V.expert == expert)
        with self.store.read() as conn:
            return [_version(r) for r in conn.execute(q)]

    def version(self, expert: str, version: int) -> AdapterVersionRecord | None:
        q = select(adapter_versions).where(V.expert == expert, V.version == version)
        with self.store.read() as conn:
            r = conn.execute(q).first()
        return _version(r) if r else None

    def set_evals(self, expert: str, version: int, evals: dict[str, Any]) -> None:
        with self.store.write() as conn:
            conn.execute(
                update(adapter_versions)
                .where(V.expert == expert, V.version == version)
                .values(evals=json.dumps(evals))
            )

    # -- rollouts -------------------------------------------------------------------------------
    def rollout(self, expert: str) -> RolloutRecord | None:
        with self.store.read() as conn:
            r = conn.execute(select(rollouts).where(R.expert == expert)).first()
        return RolloutRecord(**r._mapping) if r else None

    def rollouts(self) -> list[RolloutRecord]:
        with self.store.read() as conn:
            return [
                RolloutRecord(**r._mapping)
                for r in conn.execute(select(rollouts).order_by(R.expert))
            ]

    def save_rollout(self, rec: RolloutRecord, statuses: dict[int, str] | None = None) -> None:
        """Write an expert's rollout and its versions' new statuses in one transaction."""
        with self.store.write() as conn:
            for version, status in (statuses or {}).items():
                _set_status(conn, rec.expert, version, status)
            upsert(conn, rollouts, rec.model_dump(), ("expert",))

    def serving(self) -> tuple[list[ServingRecord], list[ServingRecord]]:
        """(each expert's incumbent, each active shadow/canary candidate) with their metadata,
        over one connection: what the live request path reads."""

        def joined(col: Any, *where: Any) -> Any:
            return (
                select(R.expert, col.label("version"), R.mode, R.fraction, V.info)
                .select_from(
                    rollouts.join(adapter_versions, and_(V.expert == R.expert, V.version == col))
                )
                .where(col.is_not(None), *where)
            )

        with self.store.read() as conn:
            inc = conn.execute(joined(R.incumbent)).all()
            act = conn.execute(joined(R.candidate, R.mode.in_(("shadow", "canary")))).all()
        incumbents = [ServingRecord(**{**r._mapping, "mode": "off", "fraction": 0.0}) for r in inc]
        return incumbents, [ServingRecord(**r._mapping) for r in act]

    # -- samples --------------------------------------------------------------------------------
    def add_samples(self, samples: list[SampleRecord]) -> None:
        if not samples:
            return
        rows = [
            s.model_dump()
            | {
                "error": int(s.error),
                "hazmat": int(s.hazmat),
                "agrees": None if s.agrees is None else int(s.agrees),
            }
            for s in samples
        ]
        with self.store.write() as conn:
            conn.execute(insert(rollout_samples), rows)

    def samples(
        self, expert: str, candidate: int, incumbent: int | None, since: str
    ) -> list[SampleRecord]:
        """Samples of this candidate and this incumbent recorded since the rollout started."""
        arms = or_(
            and_(S.arm == "candidate", S.version == candidate),
            and_(S.arm == "incumbent", S.version == incumbent),
        )
        q = select(rollout_samples).where(S.expert == expert, arms, S.ts >= since)
        with self.store.read() as conn:
            rows = conn.execute(q).mappings().all()
        return [
            SampleRecord(
                **{
                    **r,
                    "error": bool(r["error"]),
                    "hazmat": bool(r["hazmat"]),
                    "agrees": None if r["agrees"] is None else bool(r["agrees"]),
                }
            )
            for r in rows
        ]


def _set_status(conn: Connection, expert: str, version: int, status: str) -> None:
    conn.execute(
        update(adapter_versions)
        .where(V.expert == expert, V.version == version)
        .values(status=status)
    )
