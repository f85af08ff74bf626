"""The store's repositories, one suite run twice: on an embedded SQLite file and on a real
PostgreSQL server started on 127.0.0.1 for the session (tests/support/pg_server.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from evalkit import make_report, scenario

from crisis_mas.evals.results import EvalRun
from crisis_mas.experts.reliability import FeedbackIn, FeedbackStore, reliability_table
from crisis_mas.report.feedback import record_feedback
from crisis_mas.report.records import report_from, run_record
from crisis_mas.rollout.policy import Sample
from crisis_mas.rollout.registry import Registry
from crisis_mas.service.jobs import JobStore
from crisis_mas.store import Store, open_store
from crisis_mas.store.records import (
    AlertStateRecord,
    RolloutRecord,
    SampleRecord,
    ScenarioInput,
)
from crisis_mas.store.schema import metadata

S = scenario("karditsa_flood")
A, B = S.alternative_ids[0], S.alternative_ids[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_database")


@pytest.fixture
def store(url: str) -> Store:
    return open_store(url)


def test_migrations_build_exactly_the_schema_the_code_queries(store: Store) -> None:
    rev = store.revision()
    assert rev.up_to_date and rev.revision == rev.head and not rev.legacy
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, metadata) == []


def test_runs_newest_first_replace_and_a_second_engine_sees_them(store: Store, url: str) -> None:
    for i, rid in enumerate(("r0", "r1", "r2")):
        ts = "2026-11-23T10:00:00" if i < 2 else "2026-11-23T11:00:00"  # r0, r1 tie
        store.runs.save(run_record(make_report(S, A, run_id=rid, created_at=ts)))
    assert [r.run_id for r in store.runs.list()] == ["r2", "r1", "r0"]  # ties: insertion order
    assert store.runs.list(limit=1)[0].experts == ["fire", "police"]
    again = make_report(S, B, run_id="r1", created_at="2026-11-23T10:00:00")
    store.runs.save(run_record(again))  # same id: replaced, not duplicated
    assert len(store.runs.list()) == 3
    assert report_from(store.runs.get("r1")) == again
    assert store.runs.get("missing") is None
    assert store.runs.list(scenario_id="nope") == []
    other = Store(url)  # another process: its own engine and connections
    try:
        assert [r.recommended for r in other.runs.list()] == [A, B, A]
    finally:
        other.dispose()


def test_eval_runs_and_reference(store: Store) -> None:
    run = EvalRun(eval_id="e1", created_at="2026-11-23T10", suite="bundled", config="c", scores=[])
    rec = run.to_record()
    store.evals.save(rec)
    rec2 = rec.model_copy(update={"eval_id": "e2", "config": "d"})
    store.evals.save(rec2)
    assert EvalRun.from_record(store.evals.get("e1")) == run
    assert [r.eval_id for r in store.evals.list("bundled")] == ["e2", "e1"]
    assert store.evals.list("other") == [] and store.evals.reference("bundled") is None
    store.evals.set_reference("bundled", "e1")
    store.evals.set_reference("bundled", "e2")
    assert store.evals.reference("bundled") == rec2


def test_feedback_latest_per_run_and_reliability(store: Store) -> None:
    for rid in ("f0", "f1"):
        store.runs.save(run_record(make_report(S, A, run_id=rid, firsts={"fire": A, "police": B})))
    first = record_feedback(store, "f0", FeedbackIn(outcome=A, rating=5, note="n"))
    second = record_feedback(store, "f0", FeedbackIn(outcome=B))  # a correction: latest wins
    record_feedback(store, "f1", FeedbackIn(outcome=A))
    assert second.id > first.id
    latest = FeedbackStore(store).latest("flood")
    assert [(f.run_id, f.outcome) for f in latest] == [("f0", B), ("f1", A)]
    assert FeedbackStore(store).latest("wildfire") == []
    rows = {r.expert_id: r for r in reliability_table(FeedbackStore(store), crisis_types=["flood"])}
    assert rows["fire"].outcomes == 2 and rows["fire"].right == 1


def test_drift_inputs_join_runs_and_skip_eval_runs(store: Store) -> None:
    store.runs.save(run_record(make_report(S, A, run_id="live-1", created_at="2026-11-23T10")))
    store.runs.save(run_record(make_report(S, A, run_id="eval-x-1", created_at="2026-11-23T11")))
    store.runs.save(run_record(make_report(S, A, run_id="evalish", created_at="2026-11-23T12")))
    store.inputs.add(ScenarioInput(run_id="live-1", created_at="t", scenario_id=S.id, text="hi"))
    got = store.inputs.recent(10, skip_prefix="eval-")
    assert [(r.run_id, r.text) for r in got] == [("evalish", None), ("live-1", "hi")]
    assert store.inputs.recent(1, skip_prefix="eval-")[0].run_id == "evalish"


def _info(tag: str) -> dict:
    return {"expert": "fire", "path": f"/a/{tag}", "base": "b", "data_sha256": tag, "training": {}}


def test_registry_rollout_flow(store: Store) -> None:
    reg = Registry(store)
    assert reg.register(_info("a")).version == 1 and reg.register(_info("b")).version == 2
    assert reg.register(_info("a")).version == 1  # the same adapter is not registered twice
    reg.activate("fire", 1)
    reg.start("fire", 2, "canary", 0.5)
    for i in range(4):
        reg.record("fire", Sample(run_id=f"r{i}", arm="candidate", error=i == 0, hazmat=False,
                                  latency_ms=10.0, agrees=True))  # fmt: skip
    reg.record("fire", Sample(run_id="x", arm="incumbent", error=False, hazmat=True,
                              latency_ms=5.0))  # fmt: skip
    xs = reg.samples("fire")
    assert len(xs) == 5 and sum(x.error for x in xs) == 1 and sum(x.hazmat for x in xs) == 1
    assert {x.agrees for x in xs} == {True, None}
    incumbents, active = store.registry.serving()
    assert [(r.expert, r.version, r.mode) for r in incumbents] == [("fire", 1, "off")]
    assert [(r.expert, r.version, r.mode, r.fraction) for r in active] == [
        ("fire", 2, "canary", 0.5)
    ]
    reg.attach_eval("fire", 2, "e1", {"top1": 1.0})
    assert reg.version("fire", 2).evals == {"e1": {"top1": 1.0}}
    reg.rollback("fire", "test")
    assert reg.version("fire", 2).status == "rolled_back" and store.registry.serving()[1] == []


def test_registry_versions_are_unique_under_concurrent_registration(store: Store) -> None:
    errors: list[Exception] = []

    def register(i: int) -> None:
        try:
            for j in range(3):
                store.registry.add_version("police", "registered", "t", {"n": i * 10 + j})
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [v.version for v in store.registry.versions("police")] == list(range(1, 13))


def test_rollout_record_and_samples_round_trip(store: Store) -> None:
    store.registry.save_rollout(
        RolloutRecord(
            expert="e",
            incumbent=1,
            candidate=2,
            mode="shadow",
            fraction=0.1,
            started_at="2026-01-01",
        )  # fmt: skip
    )
    store.registry.add_samples(
        [
            SampleRecord(
                run_id="r",
                expert="e",
                version=2,
                arm="candidate",
                error=False,
                hazmat=False,
                latency_ms=1.5,
                agrees=False,
                ts="2026-01-02",
            ),
            SampleRecord(
                run_id="r",
                expert="e",
                version=1,
                arm="incumbent",
                error=True,
                hazmat=False,
                latency_ms=2.5,
                ts="2025-12-31",
            ),  # before the start
        ]  # fmt: skip
    )
    got = store.registry.samples("e", 2, 1, "2026-01-01")
    assert [(s.arm, s.agrees, s.latency_ms) for s in got] == [("candidate", False, 1.5)]


def test_jobs(store: Store) -> None:
    jobs = JobStore(store, stale_after_s=10)
    a, b = jobs.create("replica-a", "evia"), jobs.create("replica-b", "evia")
    jobs.update(a.job_id, "running")
    assert jobs.heartbeat("replica-a") == 1 and jobs.heartbeat("nobody") == 0
    assert jobs.cancel(b.job_id).status == "cancelled"
    jobs.update(b.job_id, "succeeded", run_id="r")  # a cancelled job stays cancelled
    assert jobs.get(b.job_id).status == "cancelled"
    jobs.update(a.job_id, "failed", error="boom", error_status=503)
    got = jobs.get(a.job_id)
    assert (got.status, got.error, got.error_status) == ("failed", "boom", 503)
    assert {j.job_id for j in jobs.list()} == {a.job_id, b.job_id}
    assert [j.job_id for j in jobs.list(status="cancelled")] == [b.job_id]
    assert jobs.get("missing") is None


def test_event_log_and_alert_state(store: Store) -> None:
    base = {"expert": "fire", "kind": "assessment", "op": "generate", "run_id": "r",
            "latency_ms": 1.0, "prompt_tokens": 1, "completion_tokens": 1, "cached": 0,
            "error": 0, "blocked": 0, "hazmat": 0, "flags": 0, "cost": 0.0}  # fmt: skip
    store.events.record([{**base, "ts": 100.0}, {**base, "ts": 200.0, "error": 1}])
    assert store.events.count() == 2
    assert [e["error"] for e in store.events.since(150.0)] == [1]
    assert store.events.prune(150.0) == 1 and store.events.count() == 1
    with store.alerts.session() as s:
        s.put(AlertStateRecord(fingerprint="a:b", first_seen=1.0, last_notified=2.0, count=3))
        s.put(AlertStateRecord(fingerprint="c:d", first_seen=1.0, last_notified=2.0, count=1))
    with store.alerts.session() as s:
        assert s.get("a:b").count == 3 and sorted(s.fingerprints()) == ["a:b", "c:d"]
        s.put(s.get("a:b").model_copy(update={"count": 4}))
        s.delete("c:d")
    with store.alerts.session() as s:
        assert s.fingerprints() == ["a:b"] and s.get("a:b").count == 4 and s.get("c:d") is None


def test_adapter_ids_unique_stable_and_never_reused(store: Store, url: str) -> None:
    ids = store.adapter_ids.ids(["fire", "police", "fire@v2", "police@v2"])
    assert len(set(ids.values())) == 4 and all(i >= 1 for i in ids.values())
    assert ids["fire@v2"] != ids["police@v2"]
    other = Store(url)  # a fresh process's view: no cache, same answers
    try:
        assert other.adapter_ids.ids(["police@v2", "fire"]) == {
            "police@v2": ids["police@v2"],
            "fire": ids["fire"],
        }
        assert other.adapter_ids.id("medical") not in ids.values()
    finally:
        other.dispose()
    assert store.adapter_ids.all() == {**ids, "medical": store.adapter_ids.id("medical")}


def test_downgrade_to_the_baseline_and_back_keeps_runs(store: Store) -> None:
    from crisis_mas.store.migrate import downgrade

    for i in range(3):
        store.runs.save(run_record(make_report(S, A, run_id=f"d{i}", created_at="2026-11-23")))
    assert downgrade(store.engine, store.url, "0001_baseline").revision == "0001_baseline"
    before, after = store.upgrade()
    assert before.revision == "0001_baseline" and after.up_to_date
    assert [r.run_id for r in store.runs.list()] == ["d2", "d1", "d0"]
