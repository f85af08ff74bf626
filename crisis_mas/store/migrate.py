"""Schema migrations with Alembic, configured in code (the scripts ship in `migrations/`).

`upgrade` is safe when several processes open a new or old store at once: it takes a lock that
serialises migrations (SQLite: BEGIN IMMEDIATE on the migration's own transaction; PostgreSQL:
a transaction-scoped advisory lock), then re-reads the revision under that lock, so the first
process migrates and the others find the head. A `runs.db` of the first layout (tables, no
`alembic_version`) is adopted as the baseline revision in place and upgraded from there.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, inspect, text

from crisis_mas.store.engine import WRITE_OPTION

log = logging.getLogger("crisis_mas.store.migrate")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LEGACY_TABLES = ("runs", "eval_runs", "feedback", "scenario_inputs", "adapter_versions")
PG_LOCK_KEY = 0x0C415353_4D415301  # any constant bigint: "the crisis-mas migration lock"


class Revision(BaseModel):
    """Where a store stands: its revision, the newest one, and whether it is a first-layout file."""

    url: str
    revision: str | None
    head: str
    legacy: bool = False  # tables of the first run store without a revision stamp

    @property
    def up_to_date(self) -> bool:
        return self.revision == self.head


def _config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def head() -> str:
    rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert rev is not None, "no migrations packaged"
    return rev


def _state(conn: Connection) -> tuple[str | None, bool]:
    """(current revision, first-layout store without a stamp)."""
    rev = MigrationContext.configure(conn).get_current_revision()
    if rev is not None:
        return rev, False
    tables = set(inspect(conn).get_table_names())
    return None, bool(tables & set(LEGACY_TABLES))


def current(engine: Engine, url: str) -> Revision:
    with engine.connect() as conn:
        rev, legacy = _state(conn)
    return Revision(url=url, revision=rev, head=head(), legacy=legacy)


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})


def upgrade(engine: Engine, url: str, target: str = "head") -> tuple[Revision, Revision]:
    """Apply pending migrations; returns (before, after). A no-op at head (no lock taken)."""
    before = current(engine, url)
    if before.up_to_date and target == "head":
        return before, before
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        _lock(conn)  # SQLite: BEGIN IMMEDIATE already holds the write lock
        rev, legacy = _state(conn)  # again, under the lock: another process may have migrated
        if legacy:
            log.warning("store %s: a first-layout run store, adopted as the baseline", url)
        from alembic import command

        command.upgrade(_config(conn), target)
    return before, current(engine, url)


def downgrade(engine: Engine, url: str, target: str) -> Revision:
    """Step back to `target` (tests and emergencies; the CLI only upgrades)."""
    from alembic import command

    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        _lock(conn)
        command.downgrade(_config(conn), target)
    return current(engine, url)
