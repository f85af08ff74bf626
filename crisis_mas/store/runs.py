"""The local run store (SQLite): every report is kept, so `runs list` / `runs show` and the HTTP
API read the same history. Writes are single transactions; WAL keeps readers off the writer."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from pydantic import BaseModel

from crisis_mas.paths import home
from crisis_mas.report.model import Report

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    scenario_id TEXT NOT NULL,
    scenario_type TEXT NOT NULL,
    recommended TEXT,
    experts TEXT NOT NULL,
    report TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at);
"""


class RunSummary(BaseModel):
    run_id: str
    created_at: str
    scenario_id: str
    scenario_type: str
    recommended: str | None
    experts: list[str]


class RunStore:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path).expanduser() if path else home() / "runs.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def save(self, report: Report) -> None:
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    report.run_id,
                    report.created_at,
                    report.scenario_id,
                    report.scenario_type,
                    report.decision.recommended,
                    json.dumps([a.expert_id for a in report.assessments]),
                    report.model_dump_json(),
                ),
            )

    def list(self, limit: int = 20, scenario_id: str | None = None) -> list[RunSummary]:
        q = "SELECT run_id, created_at, scenario_id, scenario_type, recommended, experts FROM runs"
        args: tuple = ()
        if scenario_id:
            q += " WHERE scenario_id = ?"
            args = (scenario_id,)
        q += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
        with closing(self._connect()) as db:
            rows = db.execute(q, (*args, limit)).fetchall()
        return [
            RunSummary(
                run_id=r[0],
                created_at=r[1],
                scenario_id=r[2],
                scenario_type=r[3],
                recommended=r[4],
                experts=json.loads(r[5]),
            )
            for r in rows
        ]

    def get(self, run_id: str) -> Report | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT report FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return Report.model_validate_json(row[0]) if row else None
