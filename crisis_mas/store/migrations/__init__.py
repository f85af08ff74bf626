"""Alembic migrations of the store, shipped inside the package (configured in code by
`crisis_mas.store.migrate`; no alembic.ini at run time)."""
