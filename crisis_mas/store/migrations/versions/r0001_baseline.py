"""Baseline: the tables of the first run store (`runs.db` as its six owners created them).

A `runs.db` of that layout has no `alembic_version`; this revision creates only the tables it
lacks and keeps every existing one (rows included), so such a file is adopted as this revision in
place. A new store gets all of them.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

TABLES = (
    "runs",
    "eval_runs",
    "eval_reference",
    "feedback",
    "scenario_inputs",
    "adapter_versions",
    "rollouts",
    "rollout_samples",
)


def _create(name: str, *columns: sa.SchemaItem, **kw: object) -> bool:
    """Create a table unless the legacy store already has it; True when created."""
    if sa.inspect(op.get_bind()).has_table(name):
        return False
    op.create_table(name, *columns, **kw)
    return True


def upgrade() -> None:
    if _create(
        "runs",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("scenario_id", sa.Text, nullable=False),
        sa.Column("scenario_type", sa.Text, nullable=False),
        sa.Column("recommended", sa.Text),
        sa.Column("experts", sa.Text, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
    ):
        op.create_index("runs_created", "runs", ["created_at"])
    if _create(
        "eval_runs",
        sa.Column("eval_id", sa.Text, primary_key=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("suite", sa.Text, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("top1_acceptable_rate", sa.Float, nullable=False),
        sa.Column("run", sa.Text, nullable=False),
    ):
        op.create_index("eval_runs_created", "eval_runs", ["created_at"])
    _create(
        "eval_reference",
        sa.Column("suite", sa.Text, primary_key=True),
        sa.Column("eval_id", sa.Text, nullable=False),
    )
    if _create(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("run_created_at", sa.Text, nullable=False),
        sa.Column("scenario_type", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("rating", sa.Integer),
        sa.Column("note", sa.Text),
        sa.Column("firsts", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    ):
        op.create_index("feedback_run", "feedback", ["run_id"])
    if _create(
        "scenario_inputs",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("scenario_id", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    ):
        op.create_index("scenario_inputs_created", "scenario_inputs", ["created_at"])
    _create(
        "adapter_versions",
        sa.Column("expert", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("registered_at", sa.Text, nullable=False),
        sa.Column("info", sa.Text, nullable=False),
        sa.Column("evals", sa.Text, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("expert", "version"),
    )
    _create(
        "rollouts",
        sa.Column("expert", sa.Text, primary_key=True),
        sa.Column("incumbent", sa.Integer),
        sa.Column("candidate", sa.Integer),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("fraction", sa.Float, nullable=False),
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
    )
    if _create(
        "rollout_samples",
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("expert", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("arm", sa.Text, nullable=False),
        sa.Column("error", sa.Integer, nullable=False),
        sa.Column("hazmat", sa.Integer, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("agrees", sa.Integer),
        sa.Column("ts", sa.Text, nullable=False),
    ):
        op.create_index("rollout_samples_expert", "rollout_samples", ["expert", "version"])


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
