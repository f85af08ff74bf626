"""One store: jobs, the ops event log, alert state and LoRA adapter ids move in; runs and eval
runs get an insertion sequence (`seq`) so "newest first" means the same on SQLite and PostgreSQL
(the first store used SQLite's rowid, which PostgreSQL lacks).

Rows of `runs` and `eval_runs` are copied in their stored order (SQLite: rowid), so listings
read the same after the upgrade. `jobs.db` and `ops/events.db` of earlier versions are not
imported: jobs are transient (a stale job reads as failed) and events roll over in days.

Revision ID: 0002_one_store
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_one_store"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

RUN_COLS = ("created_at", "scenario_id", "scenario_type", "recommended", "experts", "report")
EVAL_COLS = ("created_at", "suite", "config", "top1_acceptable_rate", "run")


def _run_columns() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("scenario_id", sa.Text, nullable=False),
        sa.Column("scenario_type", sa.Text, nullable=False),
        sa.Column("recommended", sa.Text),
        sa.Column("experts", sa.Text, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
    ]


def _eval_columns() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("suite", sa.Text, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("top1_acceptable_rate", sa.Float, nullable=False),
        sa.Column("run", sa.Text, nullable=False),
    ]


def _copy(src: str, dst: str, key: str, cols: tuple[str, ...]) -> None:
    """INSERT the rows of `src` into `dst` oldest first (the new `seq` follows that order)."""
    order = "rowid" if op.get_bind().dialect.name == "sqlite" else f"created_at, {key}"
    names = ", ".join((key, *cols))
    op.execute(f"INSERT INTO {dst} ({names}) SELECT {names} FROM {src} ORDER BY {order}")


def _rebuild(name: str, key: str, cols: tuple[str, ...], columns: list[sa.Column]) -> None:
    """Recreate `name` with an integer `seq` key and `key` unique, keeping every row."""
    tmp = f"{name}_0002"
    op.create_table(
        tmp,
        sa.Column("seq", sa.Integer, autoincrement=True),
        sa.Column(key, sa.Text, nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("seq", name=f"pk_{name}"),
        sa.UniqueConstraint(key, name=f"uq_{name}_{key}"),
    )
    _copy(name, tmp, key, cols)
    op.drop_table(name)  # drops its index too
    op.rename_table(tmp, name)
    op.create_index(f"{name}_created", name, ["created_at"])


def upgrade() -> None:
    _rebuild(
        "runs",
        "run_id",
        RUN_COLS,
        _run_columns(),
    )
    _rebuild(
        "eval_runs",
        "eval_id",
        EVAL_COLS,
        _eval_columns(),
    )
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("scenario_id", sa.Text, nullable=False),
        sa.Column("run_id", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("error_status", sa.Integer),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), autoincrement=True),
        sa.Column("ts", sa.Float, nullable=False),
        *(sa.Column(c, sa.Text) for c in ("expert", "kind", "op", "run_id")),
        sa.Column("latency_ms", sa.Float),
        *(
            sa.Column(c, sa.Integer)
            for c in ("prompt_tokens", "completion_tokens", "cached", "error", "blocked")
        ),
        sa.Column("hazmat", sa.Integer),
        sa.Column("flags", sa.Integer),
        sa.Column("cost", sa.Float),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("events_ts", "events", ["ts"])
    op.create_table(
        "alert_state",
        sa.Column("fingerprint", sa.Text, primary_key=True),
        sa.Column("first_seen", sa.Float, nullable=False),
        sa.Column("last_notified", sa.Float, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "adapter_ids",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_adapter_ids"),
        sa.UniqueConstraint("name", name="uq_adapter_ids_name"),
        sqlite_autoincrement=True,
    )


def _unrebuild(name: str, key: str, cols: tuple[str, ...], columns: list[sa.Column]) -> None:
    tmp = f"{name}_0001"
    op.create_table(tmp, sa.Column(key, sa.Text, primary_key=True), *columns)
    names = ", ".join((key, *cols))
    op.execute(f"INSERT INTO {tmp} ({names}) SELECT {names} FROM {name} ORDER BY seq")
    op.drop_table(name)
    op.rename_table(tmp, name)
    op.create_index(f"{name}_created", name, ["created_at"])


def downgrade() -> None:
    for table in ("adapter_ids", "alert_state", "events", "jobs"):
        op.drop_table(table)
    _unrebuild(
        "eval_runs",
        "eval_id",
        EVAL_COLS,
        _eval_columns(),
    )
    _unrebuild(
        "runs",
        "run_id",
        RUN_COLS,
        _run_columns(),
    )
