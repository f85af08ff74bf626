"""Drift: centroid distance maths, data drift raised on a shifted input set with the real MiniLM
embeddings, concept drift from stored eval runs, and alerts through the ops mechanism."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import typer
from evalkit import make_report, scenario
from typer.testing import CliRunner

from crisis_mas.config import AppConfig
from crisis_mas.evals import EvalRun, load_suite, score_report
from crisis_mas.monitor.drift import (
    DriftConfig,
    DriftResult,
    centroid_distance,
    concept_drift,
    data_drift,
    raise_alerts,
    recent_texts,
    record_input,
    reference_texts,
)
from crisis_mas.report.records import run_record
from crisis_mas.store import open_store

SHIFTED = [
    "cyber_attack: Ransomware on the hospital IT systems. Patient records are encrypted.",
    "cyber_attack: Denial of service against the 112 call platform; calls drop.",
    "infrastructure: Nationwide blackout after a grid fault; traffic lights and mobile fail.",
    "cyber_attack: Intrusion into the water utility SCADA; dosing set points altered remotely.",
    "infrastructure: Undersea internet cable cut near Crete; card payments fail on the islands.",
    "cyber_attack: Phishing campaign steals credentials of civil protection staff.",
]


def test_centroid_distance() -> None:
    a = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert centroid_distance(a, a) == pytest.approx(0.0)
    assert centroid_distance(a, np.array([[0.0, 1.0]])) == pytest.approx(1.0)
    assert centroid_distance(a, np.array([[-1.0, 0.0]])) == pytest.approx(2.0)


def test_data_drift_raised_on_shifted_inputs_real_embeddings() -> None:
    ref = reference_texts()
    assert len(ref) == 8
    same = data_drift(ref, ref)
    assert same.value == pytest.approx(0.0, abs=1e-4) and not same.drifted
    shifted = data_drift(SHIFTED, ref)
    assert shifted.drifted and shifted.value > DriftConfig().data_threshold
    few = data_drift(SHIFTED[:2], ref)
    assert few.value is None and not few.drifted and "need 5" in few.message


def test_recent_inputs_come_from_live_runs(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    s = scenario("karditsa_flood")
    runs = open_store(db).runs
    pick = s.alternative_ids[0]
    runs.save(run_record(make_report(s, pick, run_id="live-1", created_at="2026-11-23T10")))
    runs.save(run_record(make_report(s, pick, run_id="eval-x-flood_001-0")))
    other = s.model_copy(update={"description": "A dam failed upstream.", "name": "Dam failure"})
    runs.save(run_record(make_report(s, pick, run_id="live-2", created_at="2026-11-23T11")))
    record_input("live-2", other, db)
    texts = recent_texts(db, 10)
    assert len(texts) == 2  # the eval run is not a live input
    assert texts[0] == "flood: Dam failure. A dam failed upstream."
    assert texts[1].startswith("flood: Karditsa plain flooding")  # bundled fallback


def _eval(eid: str, acceptable: bool) -> EvalRun:
    scores = []
    for x in load_suite("bundled"):
        bad = [a for a in x.scenario.alternative_ids if a not in x.labels.acceptable][0]
        pick = x.labels.acceptable[0] if acceptable else bad
        scores.append(score_report(make_report(x.scenario, pick, run_id=eid), x.labels))
    return EvalRun(
        eval_id=eid, created_at="2026-11-23T10:00:00", suite="bundled", config=eid, scores=scores
    )


def test_concept_drift_from_accuracy_drop() -> None:
    ref, good, bad = _eval("ref", True), _eval("good", True), _eval("bad", False)
    assert not concept_drift(good, ref).drifted
    r = concept_drift(bad, ref)
    assert r.drifted and r.value == pytest.approx(1.0) and "drop" in r.message
    assert not concept_drift(bad, None).drifted


def test_alerts_go_through_ops_mechanism_and_throttle(tmp_path: Path) -> None:
    cfg = AppConfig.model_validate({"store": {"url": f"sqlite:///{tmp_path / 'one.db'}"}})
    hit = DriftResult(kind="data", value=0.6, threshold=0.35, drifted=True, n=6, message="m")
    ok = DriftResult(kind="concept", value=0.0, threshold=0.1, drifted=False, n=8, message="ok")
    first = raise_alerts([hit, ok], cfg, now=1000.0, notify=False)
    assert [a.rule for a in first] == ["data_drift"] and first[0].notify
    again = raise_alerts([hit], cfg, now=1010.0, notify=False)
    assert not again[0].notify and again[0].count == 2  # throttled repeat
    later = raise_alerts([hit], cfg, now=1010.0 + cfg.ops.alerts.throttle_s, notify=False)
    assert later[0].notify
    # the throttle state lives in the deployment's one store (store.url), beside the runs
    with sqlite3.connect(tmp_path / "one.db") as db:
        assert db.execute("SELECT count FROM alert_state").fetchall() == [(3,)]


def test_drift_check_command(tmp_path: Path) -> None:
    from crisis_mas.cli.drift import drift_check

    db = tmp_path / "runs.db"
    f = tmp_path / "c.yaml"
    f.write_text(f"store: {{path: {db}}}\nops: {{metrics: {{events_path: {tmp_path / 'e.db'}}}}}\n")
    store = open_store(db).evals
    store.save(_eval("ref", True).to_record())
    store.set_reference("bundled", "ref")
    bad = _eval("bad", False).model_copy(update={"created_at": "2026-11-24T10:00:00"})
    store.save(bad.to_record())
    app = typer.Typer()
    app.command()(drift_check)
    out = CliRunner().invoke(app, ["--json", "--fail-on-drift", "-c", str(f)])
    assert out.exit_code == 1, out.output
    body = json.loads(out.stdout)
    kinds = {r["kind"]: r for r in body["results"]}
    assert kinds["concept"]["drifted"] and kinds["data"]["value"] is None
    assert [a["rule"] for a in body["alerts"]] == ["concept_drift"]
