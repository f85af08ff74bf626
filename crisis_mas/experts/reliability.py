"""Operator feedback and the reliability it earns each expert.

Operators record what was actually done (`outcome`, an alternative id of the run), a 1-5 rating
and a note. An expert was right on a run when its first choice equals the outcome. Reliability per
(expert, crisis type) is the posterior mean of a Beta prior centred on the profile's
`reliability_prior` (strength `prior_strength` pseudo-outcomes) updated with exponentially decayed
right/wrong counts. Only outcomes count, never the system's own answers; without outcomes the
value is the prior exactly. Stored beside `runs` in the same SQLite file.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from crisis_mas.errors import InputError
from crisis_mas.experts.config import ReliabilityConfig
from crisis_mas.paths import home
from crisis_mas.store.runs import RunStore

if TYPE_CHECKING:
    from crisis_mas.experts.profiles import ExpertProfile

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    run_created_at TEXT NOT NULL,
    scenario_type TEXT NOT NULL,
    outcome TEXT NOT NULL,
    rating INTEGER,
    note TEXT,
    firsts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_run ON feedback(run_id);
"""


class FeedbackIn(BaseModel):
    """The body of `POST /v1/runs/{run_id}/feedback` and the CLI's options."""

    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(min_length=1, max_length=200)
    rating: int | None = Field(default=None, ge=1, le=5)
    note: str | None = Field(default=None, max_length=4000)


class Feedback(FeedbackIn):
    id: int
    run_id: str
    created_at: str
    run_created_at: str
    scenario_type: str
    firsts: dict[str, str]  # expert -> first choice on that run (failed experts excluded)


class UnknownRun(InputError):
    """The run id is not in the run store."""


class UnknownOutcome(InputError):
    """The outcome is not one of the run's alternatives."""


class ReliabilityRow(BaseModel):
    expert_id: str
    crisis_type: str
    prior: float
    reliability: float
    outcomes: int  # outcomes that judged this expert (latest feedback per run)
    right: int
    effective_n: float  # decayed outcome weight


def _parse_ts(ts: str) -> datetime:
    dt = datetime.fromisoformat(ts)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class FeedbackStore:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path).expanduser() if path else home() / "runs.db"
        self.runs = RunStore(self.path)  # creates the file and the runs table if needed
        with closing(self._connect()) as db, db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def add(self, run_id: str, fb: FeedbackIn, now: datetime | None = None) -> Feedback:
        """Store one operator verdict; the latest per run is the one reliability uses."""
        report = self.runs.get(run_id)
        if report is None:
            raise UnknownRun(f"run '{run_id}' not found in the run store")
        alts = [r.alternative_id for r in report.decision.ranking]
        if fb.outcome not in alts:
            raise UnknownOutcome(
                f"outcome '{fb.outcome}' is not an alternative of run {run_id} "
                f"(one of: {', '.join(alts)})"
            )
        firsts = {
            a.expert_id: a.recommended
            for a in report.assessments
            if a.status != "failed" and a.recommended
        }
        created = (now or datetime.now(UTC)).isoformat(timespec="milliseconds")
        with closing(self._connect()) as db, db:
            cur = db.execute(
                "INSERT INTO feedback (run_id, created_at, run_created_at, scenario_type, outcome,"
                " rating, note, firsts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    created,
                    report.created_at,
                    report.scenario_type,
                    fb.outcome,
                    fb.rating,
                    fb.note,
                    json.dumps(firsts),
                ),
            )
            fid = int(cur.lastrowid or 0)
        return Feedback(
            id=fid,
            run_id=run_id,
            created_at=created,
            run_created_at=report.created_at,
            scenario_type=report.scenario_type,
            firsts=firsts,
            **fb.model_dump(),
        )

    def latest(self, crisis_type: str | None = None) -> list[Feedback]:
        """The latest feedback of every run (optionally of one crisis type), oldest first."""
        q = (
            "SELECT id, run_id, created_at, run_created_at, scenario_type, outcome, rating, note,"
            " firsts FROM feedback f WHERE id = (SELECT MAX(id) FROM feedback WHERE run_id ="
            " f.run_id)"
        )
        args: tuple[Any, ...] = ()
        if crisis_type:
            q, args = q + " AND scenario_type = ?", (crisis_type,)
        with closing(self._connect()) as db:
            rows = db.execute(q + " ORDER BY id", args).fetchall()
        return [
            Feedback(
                id=r[0],
                run_id=r[1],
                created_at=r[2],
                run_created_at=r[3],
                scenario_type=r[4],
                outcome=r[5],
                rating=r[6],
                note=r[7],
                firsts=json.loads(r[8]),
            )
            for r in rows
        ]


def reliability_stats(
    expert_id: str,
    crisis_type: str,
    prior: float,
    feedback: list[Feedback],
    cfg: ReliabilityConfig | None = None,
    now: datetime | None = None,
) -> ReliabilityRow:
    """Beta(prior * k, (1 - prior) * k) updated with decayed right/wrong outcomes of this expert."""
    cfg = cfg or ReliabilityConfig()
    now = now or datetime.now(UTC)
    k = cfg.prior_strength
    w_right = w_total = 0.0
    n = right = 0
    for fb in feedback:
        if fb.scenario_type != crisis_type or expert_id not in fb.firsts:
            continue
        age_days = max(0.0, (now - _parse_ts(fb.run_created_at)).total_seconds() / 86400)
        w = 0.5 ** (age_days / cfg.half_life_days)
        hit = fb.firsts[expert_id] == fb.outcome
        n += 1
        right += hit
        w_total += w
        w_right += w * hit
    value = prior if n == 0 else (prior * k + w_right) / (k + w_total)
    return ReliabilityRow(
        expert_id=expert_id,
        crisis_type=crisis_type,
        prior=prior,
        reliability=round(value, 6) if n else prior,
        outcomes=n,
        right=right,
        effective_n=round(w_total, 4),
    )


def reliability(
    expert_id: str,
    crisis_type: str,
    store: FeedbackStore | None = None,
    profiles: dict[str, ExpertProfile] | None = None,
    cfg: ReliabilityConfig | None = None,
    now: datetime | None = None,
) -> float:
    """One expert's reliability for one crisis type (the profile prior when no outcomes)."""
    from crisis_mas.experts.profiles import load_profiles

    profiles = profiles or load_profiles()
    store = store or FeedbackStore()
    prior = profiles[expert_id].reliability_prior
    fbs = store.latest(crisis_type)
    return reliability_stats(expert_id, crisis_type, prior, fbs, cfg, now).reliability


def learned_reliability(
    crisis_type: str,
    experts: list[str],
    store_path: str | Path | None = None,
    cfg: ReliabilityConfig | None = None,
    now: datetime | None = None,
) -> dict[str, float]:
    """Expert -> reliability for the coordinator (`decide(..., reliability=...)`); one query."""
    from crisis_mas.experts.profiles import load_profiles

    profiles = load_profiles()
    fbs = FeedbackStore(store_path).latest(crisis_type)
    return {
        e: reliability_stats(
            e, crisis_type, profiles[e].reliability_prior, fbs, cfg, now
        ).reliability
        for e in experts
        if e in profiles
    }


def reliability_table(
    store: FeedbackStore,
    cfg: ReliabilityConfig | None = None,
    now: datetime | None = None,
    crisis_types: list[str] | None = None,
) -> list[ReliabilityRow]:
    """Every expert x each crisis type it is called for (plus types that have outcomes)."""
    from crisis_mas.experts.profiles import load_profiles

    profiles = load_profiles()
    fbs = store.latest()
    seen = {f.scenario_type for f in fbs}
    rows = []
    for e, p in profiles.items():
        types = sorted(set(p.crisis_types) | {t for t in seen if any(e in f.firsts for f in fbs)})
        for t in types:
            if crisis_types and t not in crisis_types:
                continue
            rows.append(reliability_stats(e, t, p.reliability_prior, fbs, cfg, now))
    return rows
