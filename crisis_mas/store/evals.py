"""Eval runs in the run store: an `eval_runs` table beside `runs` in the same SQLite file, plus
the reference eval per suite that concept drift compares fresh runs against."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from crisis_mas.evals.results import EvalRun
from crisis_mas.paths import home

SCHEMA = """
CREATE TABLE IF NOT EXISTS eval_runs (
    eval_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    suite TEXT NOT NULL,
    config TEXT NOT NULL,
    top1_acceptable_rate REAL NOT NULL,
    run TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS eval_runs_created ON eval_runs(created_at);
CREATE TABLE IF NOT EXISTS eval_reference (suite TEXT PRIMARY KEY, eval_id TEXT NOT NULL);
"""


class EvalStore:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path).expanduser() if path else home() / "runs.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def save(self, run: EvalRun) -> None:
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO eval_runs VALUES (?, ?, ?, ?, ?, ?)",
                (
                    run.eval_id,
                    run.created_at,
                    run.suite,
                    run.config,
                    run.metrics.top1_acceptable_rate,
                    run.model_dump_json(),
                ),
            )

    def get(self, eval_id: str) -> EvalRun | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT run FROM eval_runs WHERE eval_id = ?", (eval_id,)).fetchone()
        return EvalRun.model_validate_json(row[0]) if row else None

    def list(self, suite: str | None = None, limit: int = 20) -> list[EvalRun]:
        q, args = "SELECT run FROM eval_runs", ()
        if suite:
            q, args = q + " WHERE suite = ?", (suite,)
        q += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
        with closing(self._connect()) as db:
            rows = db.execute(q, (*args, limit)).fetchall()
        return [EvalRun.model_validate_json(r[0]) for r in rows]

    def set_reference(self, suite: str, eval_id: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO eval_reference VALUES (?, ?)", (suite, eval_id))

    def reference(self, suite: str) -> EvalRun | None:
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT eval_id FROM eval_reference WHERE suite = ?", (suite,)
            ).fetchone()
        return self.get(row[0]) if row else None
