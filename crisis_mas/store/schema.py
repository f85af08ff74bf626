"""The store's tables at the head revision (SQLAlchemy Core), what the repositories query.

The migrations in `migrations/versions/` build exactly this (a test compares them); change a
table here only together with a new migration. Flags are integers (0/1) and nested values JSON
text, as in the first run store, so old rows read back unchanged.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# One report per run: index columns for listing, the whole report as a JSON document.
runs = Table(
    "runs",
    metadata,
    Column("seq", Integer, autoincrement=True),
    Column("run_id", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("scenario_id", Text, nullable=False),
    Column("scenario_type", Text, nullable=False),
    Column("recommended", Text),
    Column("experts", Text, nullable=False),
    Column("report", Text, nullable=False),
    PrimaryKeyConstraint("seq", name="pk_runs"),
    UniqueConstraint("run_id", name="uq_runs_run_id"),
    Index("runs_created", "created_at"),
)

eval_runs = Table(
    "eval_runs",
    metadata,
    Column("seq", Integer, autoincrement=True),
    Column("eval_id", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("suite", Text, nullable=False),
    Column("config", Text, nullable=False),
    Column("top1_acceptable_rate", Float, nullable=False),
    Column("run", Text, nullable=False),
    PrimaryKeyConstraint("seq", name="pk_eval_runs"),
    UniqueConstraint("eval_id", name="uq_eval_runs_eval_id"),
    Index("eval_runs_created", "created_at"),
)

eval_reference = Table(
    "eval_reference",
    metadata,
    Column("suite", Text, primary_key=True),
    Column("eval_id", Text, nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("run_created_at", Text, nullable=False),
    Column("scenario_type", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("rating", Integer),
    Column("note", Text),
    Column("firsts", Text, nullable=False),
    Index("feedback_run", "run_id"),
    sqlite_autoincrement=True,
)

scenario_inputs = Table(
    "scenario_inputs",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("created_at", Text, nullable=False),
    Column("scenario_id", Text, nullable=False),
    Column("text", Text, nullable=False),
    Index("scenario_inputs_created", "created_at"),
)

adapter_versions = Table(
    "adapter_versions",
    metadata,
    Column("expert", Text, nullable=False),
    Column("version", Integer, nullable=False, autoincrement=False),
    Column("status", Text, nullable=False),
    Column("registered_at", Text, nullable=False),
    Column("info", Text, nullable=False),
    Column("evals", Text, nullable=False, server_default="{}"),
    PrimaryKeyConstraint("expert", "version"),
)

rollouts = Table(
    "rollouts",
    metadata,
    Column("expert", Text, primary_key=True),
    Column("incumbent", Integer),
    Column("candidate", Integer),
    Column("mode", Text, nullable=False),
    Column("fraction", Float, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("note", Text),
)

rollout_samples = Table(
    "rollout_samples",
    metadata,
    Column("run_id", Text, nullable=False),
    Column("expert", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("arm", Text, nullable=False),
    Column("error", Integer, nullable=False),
    Column("hazmat", Integer, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("agrees", Integer),
    Column("ts", Text, nullable=False),
    Index("rollout_samples_expert", "expert", "version"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", Text, primary_key=True),
    Column("status", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("owner", Text, nullable=False),
    Column("scenario_id", Text, nullable=False),
    Column("run_id", Text),
    Column("error", Text),
    Column("error_status", Integer),
)

# The ops event log: one row per model call (the alert rules read it), kept `retention_days`.
events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("expert", Text),
    Column("kind", Text),
    Column("op", Text),
    Column("run_id", Text),
    Column("latency_ms", Float),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("cached", Integer),
    Column("error", Integer),
    Column("blocked", Integer),
    Column("hazmat", Integer),
    Column("flags", Integer),
    Column("cost", Float),
    PrimaryKeyConstraint("id", name="pk_events"),
    Index("events_ts", "ts"),
)

alert_state = Table(
    "alert_state",
    metadata,
    Column("fingerprint", Text, primary_key=True),
    Column("first_seen", Float, nullable=False),
    Column("last_notified", Float, nullable=False),
    Column("count", Integer, nullable=False),
)

# LoRA adapter name -> vLLM int id, assigned once on first use and never reused, so every
# process and node sharing the store numbers an adapter the same way.
adapter_ids = Table(
    "adapter_ids",
    metadata,
    Column("id", Integer, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    PrimaryKeyConstraint("id", name="pk_adapter_ids"),
    UniqueConstraint("name", name="uq_adapter_ids_name"),
    sqlite_autoincrement=True,
)
