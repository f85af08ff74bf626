"""The run store keeps every report and reads it back unchanged."""

from __future__ import annotations

from pathlib import Path

from crisis_mas.coordinator.config import AggregationConfig
from crisis_mas.coordinator.decision import decide
from crisis_mas.experts.assessment import Assessment, doctrine_prior
from crisis_mas.experts.profiles import load_profiles
from crisis_mas.report.markdown import to_markdown
from crisis_mas.report.model import ModelRef, Report
from crisis_mas.report.records import report_from, run_record
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario
from crisis_mas.store import open_store


def _report(run_id: str) -> Report:
    s = load_scenario(bundled_scenarios_dir() / "karditsa_flood.json")
    p = load_profiles()
    a = [
        Assessment(
            expert_id=e,
            expert_name=e,
            adapter=e,
            status="ok",
            beliefs=doctrine_prior(p[e], s),
            recommended=s.alternative_ids[0],
            rationale="r",
            key_concerns=["c"],
            immediate_actions=["a"],
        )
        for e in ("fire", "police")
    ]
    d = decide(s, a, p, {}, AggregationConfig())
    return Report(
        scenario_id=s.id,
        scenario_name=s.name,
        scenario_type=s.type,
        run_id=run_id,
        created_at=f"2026-11-23T10:00:0{run_id[-1]}",
        model=ModelRef(base="b", backend="vllm"),
        experts=[],
        assessments=a,
        decision=d,
    )


def test_round_trip_and_listing(tmp_path: Path) -> None:
    store = open_store(tmp_path / "runs.db").runs
    for i in range(3):
        store.save(run_record(_report(f"run-{i}")))
    rows = store.list()
    assert [r.run_id for r in rows] == ["run-2", "run-1", "run-0"]
    assert rows[0].experts == ["fire", "police"]
    got = report_from(store.get("run-1"))
    assert got == _report("run-1")
    assert store.get("missing") is None
    # a second store on the same file (another process: the server) sees the same runs
    assert len(open_store(str(tmp_path / "runs.db")).runs.list(limit=2)) == 2
    assert "## Recommended action" in to_markdown(got)
