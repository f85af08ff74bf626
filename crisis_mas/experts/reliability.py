"""Operator feedback and the reliability it earns each expert.

Operators record what was actually done (`outcome`, an alternative id of the run), a 1-5 rating
and a note. An expert was right on a run when its first choice equals the outcome. Reliability per
(expert, crisis type) is the posterior mean of a Beta prior centred on the profile's
`reliability_prior` (strength `prior_strength` pseudo-outcomes) updated with exponentially decayed
right/wrong counts. Only outcomes count, never the system's own answers; without outcomes the
value is the prior exactly. Kept in the one store (`crisis_mas.store.feedback`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from crisis_mas.errors import InputError
from crisis_mas.experts.config import ReliabilityConfig
from crisis_mas.store import StoreRef, open_store
from crisis_mas.store.records import FeedbackRecord

if TYPE_CHECKING:
    from crisis_mas.experts.profiles import ExpertProfile


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


class RunChoices(BaseModel):
    """What feedback on a run is judged against (`report.records.run_choices` builds it)."""

    run_id: str
    created_at: str
    scenario_type: str
    alternatives: list[str]
    firsts: dict[str, str]  # expert -> first choice (failed experts excluded)


class FeedbackStore:
    """Operator feedback as `Feedback`, kept in the one store."""

    def __init__(self, store: StoreRef = None):
        self.repo = open_store(store).feedback

    def add(self, run: RunChoices, fb: FeedbackIn, now: datetime | None = None) -> Feedback:
        """Store one operator verdict; the latest per run is the one reliability uses."""
        if fb.outcome not in run.alternatives:
            raise UnknownOutcome(
                f"outcome '{fb.outcome}' is not an alternative of run {run.run_id} "
                f"(one of: {', '.join(run.alternatives)})"
            )
        rec = self.repo.add(
            FeedbackRecord(
                run_id=run.run_id,
                created_at=(now or datetime.now(UTC)).isoformat(timespec="milliseconds"),
                run_created_at=run.created_at,
                scenario_type=run.scenario_type,
                firsts=run.firsts,
                **fb.model_dump(),
            )
        )
        return Feedback(**rec.model_dump())

    def latest(self, crisis_type: str | None = None) -> list[Feedback]:
        """The latest feedback of every run (optionally of one crisis type), oldest first."""
        return [Feedback(**r.model_dump()) for r in self.repo.latest(crisis_type)]


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
    store: StoreRef = None,
    cfg: ReliabilityConfig | None = None,
    now: datetime | None = None,
) -> dict[str, float]:
    """Expert -> reliability for the coordinator (`decide(..., reliability=...)`); one query."""
    from crisis_mas.experts.profiles import load_profiles

    profiles = load_profiles()
    fbs = FeedbackStore(store).latest(crisis_type)
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
