"""Operator feedback: storage, validation, reliability from outcomes only (with decay and a Beta
prior), the coordinator hook, the CLI functions and the HTTP router."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from evalkit import make_report, scenario
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from crisis_mas.config import AppConfig
from crisis_mas.coordinator.config import AggregationConfig
from crisis_mas.coordinator.decision import decide, expert_weights
from crisis_mas.experts.profiles import load_profiles
from crisis_mas.experts.reliability import (
    FeedbackIn,
    FeedbackStore,
    ReliabilityConfig,
    UnknownOutcome,
    UnknownRun,
    learned_reliability,
    reliability,
    reliability_table,
)
from crisis_mas.report.feedback import record_feedback
from crisis_mas.report.records import run_record
from crisis_mas.service.routers.feedback import feedback_router
from crisis_mas.store import open_store

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
S = scenario("karditsa_flood")
A, B = S.alternative_ids[0], S.alternative_ids[1]


def _seed(db: Path, n: int, outcome: str, days_ago: float = 0.0, prefix: str = "r") -> None:
    """n runs where fire picked A and police picked B; the operator reports `outcome`."""
    store = open_store(db)
    ts = (NOW - timedelta(days=days_ago)).isoformat()
    for i in range(n):
        rid = f"{prefix}{i}"
        report = make_report(S, A, run_id=rid, firsts={"fire": A, "police": B}, created_at=ts)
        store.runs.save(run_record(report))
        record_feedback(store, rid, FeedbackIn(outcome=outcome, rating=4))


def test_no_outcomes_gives_the_prior_exactly(tmp_path: Path) -> None:
    p = load_profiles()
    store = FeedbackStore(tmp_path / "runs.db")
    assert reliability("fire", "flood", store, now=NOW) == p["fire"].reliability_prior
    got = learned_reliability("flood", ["fire", "police"], tmp_path / "runs.db", now=NOW)
    assert got == {e: p[e].reliability_prior for e in ("fire", "police")}


def test_reliability_follows_outcomes_with_beta_prior(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    _seed(db, 6, A)  # fire right 6 times, police wrong 6 times
    p = load_profiles()
    cfg = ReliabilityConfig(prior_strength=4.0, half_life_days=30)
    fire = reliability("fire", "flood", FeedbackStore(db), cfg=cfg, now=NOW)
    police = reliability("police", "flood", FeedbackStore(db), cfg=cfg, now=NOW)
    assert fire == pytest.approx((p["fire"].reliability_prior * 4 + 6) / 10)
    assert police == pytest.approx((p["police"].reliability_prior * 4 + 0) / 10)
    # other crisis types are untouched
    assert (
        reliability("fire", "wildfire", FeedbackStore(db), now=NOW) == p["fire"].reliability_prior
    )


def test_temporal_decay_and_latest_feedback_wins(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    _seed(db, 4, B, days_ago=90, prefix="old")  # police right long ago
    _seed(db, 4, A, days_ago=0, prefix="new")  # fire right now
    cfg = ReliabilityConfig(prior_strength=4.0, half_life_days=30)
    rows = {r.expert_id: r for r in reliability_table(FeedbackStore(db), cfg, NOW, ["flood"])}
    assert rows["fire"].outcomes == 8 and rows["fire"].right == 4
    assert rows["fire"].effective_n == pytest.approx(4 + 4 * 0.125)
    assert rows["fire"].reliability > rows["police"].reliability
    # a correction on one run: the latest feedback of a run is the one that counts
    record_feedback(db, "new0", FeedbackIn(outcome=B))
    rows2 = {r.expert_id: r for r in reliability_table(FeedbackStore(db), cfg, NOW, ["flood"])}
    assert rows2["fire"].right == 3 and rows2["fire"].outcomes == 8


def test_feedback_validation(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    _seed(db, 1, A)
    with pytest.raises(UnknownRun, match="run 'nope' not found"):
        record_feedback(db, "nope", FeedbackIn(outcome=A))
    with pytest.raises(UnknownOutcome, match="outcome 'action_x' is not an alternative"):
        record_feedback(db, "r0", FeedbackIn(outcome="action_x"))
    with pytest.raises(ValueError):
        FeedbackIn(outcome=A, rating=6)


def test_coordinator_uses_learned_reliability_when_given() -> None:
    p = load_profiles()
    r = make_report(S, A, firsts={"fire": A, "police": B})
    base = {w.expert_id: w.reliability for w in expert_weights(r.assessments, p, {})}
    assert base == {"fire": p["fire"].reliability_prior, "police": p["police"].reliability_prior}
    learned = {w.expert_id: w.weight for w in expert_weights(r.assessments, p, {}, {"fire": 0.2})}
    assert learned["fire"] == 0.2 and learned["police"] == p["police"].reliability_prior
    # strongly trusting police flips the combined belief towards police's choice
    cfg = AggregationConfig(belief_weight=1.0, doctrine=False)  # the experts' evidence only
    d_fire = decide(S, r.assessments, p, {}, cfg, {"fire": 0.95, "police": 0.05})
    d_pol = decide(S, r.assessments, p, {}, cfg, {"fire": 0.05, "police": 0.95})
    assert d_fire.recommended == A and d_pol.recommended == B
    assert decide(S, r.assessments, p, {}, cfg) == decide(S, r.assessments, p, {}, cfg, None)


def _cfg_file(tmp_path: Path) -> Path:
    f = tmp_path / "c.yaml"
    f.write_text(f"store: {{path: {tmp_path / 'runs.db'}}}\n")
    return f


def test_feedback_and_reliability_cli(tmp_path: Path) -> None:
    from crisis_mas.cli.feedback import experts_reliability, feedback

    _seed(tmp_path / "runs.db", 1, A)
    cfg = str(_cfg_file(tmp_path))
    app = typer.Typer()
    app.command("feedback")(feedback)
    app.command("reliability")(experts_reliability)
    run = CliRunner().invoke
    ok = run(app, ["feedback", "r0", "--outcome", A, "--rating", "5", "--note", "ok", "-c", cfg])
    assert ok.exit_code == 0 and "right: fire" in ok.stdout
    bad = run(app, ["feedback", "nope", "--outcome", A, "-c", cfg])
    assert bad.exit_code == 2 and "run 'nope' not found" in bad.output
    bad = run(app, ["feedback", "r0", "--outcome", "action_x", "-c", cfg])
    assert bad.exit_code == 2 and "is not an alternative" in bad.output
    assert len([ln for ln in bad.output.strip().splitlines() if ln.strip()]) <= 2
    bad = run(app, ["feedback", "r0", "--outcome", A, "--rating", "9", "-c", cfg])
    assert bad.exit_code == 2
    rel = run(app, ["reliability", "--type", "flood", "--json", "-c", cfg])
    assert rel.exit_code == 0
    rows = {r["expert_id"]: r for r in json.loads(rel.stdout)}
    assert rows["fire"]["outcomes"] == 1 and rows["fire"]["right"] == 1  # latest per run


def test_feedback_router(tmp_path: Path) -> None:
    _seed(tmp_path / "runs.db", 1, A)
    cfg = AppConfig.model_validate({"store": {"path": str(tmp_path / "runs.db")}})
    app = FastAPI()
    app.include_router(feedback_router(cfg))
    c = TestClient(app)
    r = c.post("/v1/runs/r0/feedback", json={"outcome": B, "rating": 3, "note": "n"})
    assert r.status_code == 201 and r.json()["outcome"] == B
    r = c.post("/v1/runs/r0/feedback", json={"outcome": A, "rating": 7})
    assert r.status_code == 422 and "rating" in json.dumps(r.json())
    r = c.post("/v1/runs/r0/feedback", json={"outcome": "action_x"})
    assert r.status_code == 422 and r.json()["error"]["param"] == "outcome"
    r = c.post("/v1/runs/nope/feedback", json={"outcome": A})
    assert r.status_code == 404 and r.json()["error"]["param"] == "run_id"
    r = c.post("/v1/runs/r0/feedback", json={"rating": 3})
    assert r.status_code == 422 and "outcome" in json.dumps(r.json())
    rel = c.get("/v1/experts/reliability", params={"crisis_type": "flood"}).json()["reliability"]
    assert {x["expert_id"]: x["right"] for x in rel}["police"] == 1


def test_config_sections_come_from_yaml(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(
        "feedback: {half_life_days: 7}\ndrift: {data_threshold: 0.2}\n"
        "rollout: {canary_fraction: 0.05}\n"
    )
    from crisis_mas.config import load_config

    cfg = load_config(f)
    assert cfg.feedback.half_life_days == 7 and cfg.feedback.prior_strength == 4.0
    assert cfg.drift.data_threshold == 0.2 and cfg.rollout.canary_fraction == 0.05
