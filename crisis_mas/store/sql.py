"""The two statements SQLite and PostgreSQL spell alike but SQL Core does not: insert-or-update
and insert-or-ignore on a unique key (`INSERT ... ON CONFLICT`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def _insert(conn: Connection, table: Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def upsert(conn: Connection, table: Table, values: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Insert a row, or update every other column of the row with the same `keys`."""
    stmt = _insert(conn, table).values(**values)
    rest = {c: stmt.excluded[c] for c in values if c not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=rest))


def insert_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows whose unique key is new; rows that clash with an existing one are skipped."""
    if rows:
        conn.execute(_insert(conn, table).on_conflict_do_nothing(), rows)
