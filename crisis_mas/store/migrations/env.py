"""Alembic's environment: migrations run on the connection `crisis_mas.store.migrate` passes in
(inside its locked transaction), never from a URL in an ini file."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations through `crisis-mas db upgrade` (crisis_mas.store.migrate)")

context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
