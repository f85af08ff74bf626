"""What the repositories take and return: index columns plus a JSON document where the domain
object is larger than its columns. Domain types convert themselves to and from these
(`Report.to_record`, `EvalRun.to_record`, ...): the store never imports the layers above it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RunSummary(BaseModel):
    """A run without its report (`runs list`, `GET /v1/runs`)."""

    run_id: str
    created_at: str
    scenario_id: str
    scenario_type: str
    recommended: str | None
    experts: list[str]


class RunRecord(RunSummary):
    """One stored run; `document` is the report's JSON."""

    document: str


class EvalRecord(BaseModel):
    """One stored eval run; `document` is the `EvalRun`'s JSON."""

    eval_id: str
    created_at: str
    suite: str
    config: str
    top1_acceptable_rate: float
    document: str


class FeedbackRecord(BaseModel):
    """One operator verdict on a run (`id` is assigned by the store)."""

    id: int = 0
    run_id: str
    created_at: str
    run_created_at: str
    scenario_type: str
    outcome: str
    rating: int | None = None
    note: str | None = None
    firsts: dict[str, str]


class ScenarioInput(BaseModel):
    """A live run's scenario text, for data drift."""

    run_id: str
    created_at: str
    scenario_id: str
    text: str


class RecentInput(BaseModel):
    """A stored run joined with its scenario text (None for runs saved before inputs were kept)."""

    run_id: str
    scenario_id: str
    scenario_type: str
    text: str | None
    document: str


class AdapterVersionRecord(BaseModel):
    expert: str
    version: int
    status: str
    registered_at: str
    info: dict[str, Any]
    evals: dict[str, Any] = Field(default_factory=dict)


class RolloutRecord(BaseModel):
    expert: str
    incumbent: int | None
    candidate: int | None
    mode: str
    fraction: float
    started_at: str
    note: str | None = None


class SampleRecord(BaseModel):
    run_id: str
    expert: str
    version: int
    arm: str
    error: bool
    hazmat: bool
    latency_ms: float
    agrees: bool | None = None
    ts: str = ""


class ServingRecord(BaseModel):
    """A version the live path may serve: a rollout's incumbent or active candidate."""

    expert: str
    version: int
    mode: str
    fraction: float
    info: str  # the version's metadata JSON (its `path` is what gets loaded)


class JobRecord(BaseModel):
    job_id: str
    status: str
    created_at: float
    updated_at: float
    owner: str
    scenario_id: str
    run_id: str | None = None
    error: str | None = None
    error_status: int | None = None


class AlertStateRecord(BaseModel):
    """Throttle state of one firing alert (fingerprint = rule:metric)."""

    fingerprint: str
    first_seen: float
    last_notified: float
    count: int


EVENT_FIELDS = (
    "ts",
    "expert",
    "kind",
    "op",
    "run_id",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "cached",
    "error",
    "blocked",
    "hazmat",
    "flags",
    "cost",
)
