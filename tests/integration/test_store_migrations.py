"""Store migrations and files: a `runs.db` of the first layout upgrades in place and keeps every
row; several processes opening a new store at once; `crisis-mas db current|upgrade`; private
files (0600) and folders (0700); the URL rules."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clirun import run_cli
from evalkit import make_report, scenario
from pydantic import ValidationError

from crisis_mas.config import AppConfig
from crisis_mas.evals.results import EvalRun
from crisis_mas.experts.reliability import FeedbackStore
from crisis_mas.middleware.metrics import event_store
from crisis_mas.monitor.drift import recent_texts
from crisis_mas.report.records import report_from
from crisis_mas.rollout.registry import Registry
from crisis_mas.store import StoreConfig, StoreError, open_store
from crisis_mas.store.engine import resolve_url

S = scenario("karditsa_flood")
A = S.alternative_ids[0]

# The first run store's tables, verbatim from its six owners (store/runs.py, store/evals.py,
# experts/reliability.py, monitor/drift.py, rollout/registry.py before the one store).
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, scenario_id TEXT NOT NULL,
    scenario_type TEXT NOT NULL, recommended TEXT, experts TEXT NOT NULL, report TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at);
CREATE TABLE IF NOT EXISTS eval_runs (
    eval_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, suite TEXT NOT NULL, config TEXT NOT NULL,
    top1_acceptable_rate REAL NOT NULL, run TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS eval_runs_created ON eval_runs(created_at);
CREATE TABLE IF NOT EXISTS eval_reference (suite TEXT PRIMARY KEY, eval_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, created_at TEXT NOT NULL,
    run_created_at TEXT NOT NULL, scenario_type TEXT NOT NULL, outcome TEXT NOT NULL,
    rating INTEGER, note TEXT, firsts TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_run ON feedback(run_id);
CREATE TABLE IF NOT EXISTS scenario_inputs (
    run_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, scenario_id TEXT NOT NULL,
    text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS scenario_inputs_created ON scenario_inputs(created_at);
CREATE TABLE IF NOT EXISTS adapter_versions (
    expert TEXT NOT NULL, version INTEGER NOT NULL, status TEXT NOT NULL,
    registered_at TEXT NOT NULL, info TEXT NOT NULL, evals TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (expert, version));
CREATE TABLE IF NOT EXISTS rollouts (
    expert TEXT PRIMARY KEY, incumbent INTEGER, candidate INTEGER, mode TEXT NOT NULL,
    fraction REAL NOT NULL, started_at TEXT NOT NULL, note TEXT);
CREATE TABLE IF NOT EXISTS rollout_samples (
    run_id TEXT NOT NULL, expert TEXT NOT NULL, version INTEGER NOT NULL, arm TEXT NOT NULL,
    error INTEGER NOT NULL, hazmat INTEGER NOT NULL, latency_ms REAL NOT NULL, agrees INTEGER,
    ts TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS rollout_samples_expert ON rollout_samples(expert, version);
"""


def _old_store(path: Path, tables: str = OLD_SCHEMA) -> list[str]:
    """A runs.db as the first layout wrote it (WAL, 0644), with rows; returns the run ids in the
    order `runs list` showed them (newest first, same-time runs by rowid)."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(tables)
    ids = ["old-a", "old-c", "old-b"]  # inserted in this order; a and c share a timestamp
    stamps = ["2026-11-01T10:00:00", "2026-11-01T10:00:00", "2026-11-02"]
    for rid, ts in zip(ids, stamps, strict=True):
        r = make_report(S, A, run_id=rid, created_at=ts, firsts={"fire": A, "police": A})
        db.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
            (rid, ts, r.scenario_id, r.scenario_type, A, '["fire", "police"]',
             r.model_dump_json()),
        )  # fmt: skip
    if "feedback" in tables:
        db.execute(
            "INSERT INTO feedback (run_id, created_at, run_created_at, scenario_type, outcome,"
            " rating, note, firsts) VALUES ('old-a', 't', '2026-11-01T10:00:00', 'flood', ?, 4,"
            " 'kept', ?)",
            (A, json.dumps({"fire": A, "police": A})),
        )
        run = EvalRun(eval_id="ev1", created_at="t", suite="bundled", config="c", scores=[])
        db.execute(
            "INSERT INTO eval_runs VALUES ('ev1', 't', 'bundled', 'c', 0.5, ?)",
            (run.model_dump_json(),),
        )
        db.execute("INSERT INTO eval_reference VALUES ('bundled', 'ev1')")
        db.execute("INSERT INTO scenario_inputs VALUES ('old-b', 't', ?, 'old text')", (S.id,))
        info = {"expert": "fire", "path": "/a", "base": "b", "data_sha256": "x", "training": {}}
        db.execute(
            "INSERT INTO adapter_versions VALUES ('fire', 1, 'active', 't', ?, '{}')",
            (json.dumps(info),),
        )
        db.execute("INSERT INTO rollouts VALUES ('fire', 1, NULL, 'off', 0.0, 't', 'activated')")
    db.commit()
    db.close()
    os.chmod(path, 0o644)
    return ["old-b", "old-c", "old-a"]


def test_a_first_layout_runs_db_upgrades_in_place_and_keeps_every_row(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    order = _old_store(path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"store: {{path: {path}}}\n")
    before = run_cli("db", "current", "--json", "-c", str(cfg), timeout=120)
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout) | {"url": ""} == {
        "url": "", "revision": None, "head": "0002_one_store", "legacy": True,
        "up_to_date": False,
    }  # fmt: skip
    up = run_cli("db", "upgrade", "-c", str(cfg), timeout=120)
    assert up.returncode == 0 and "0002_one_store, up to date" in up.stdout, up.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # tightened from 0644

    store = open_store(path)
    assert [r.run_id for r in store.runs.list()] == order  # same listing as before
    assert report_from(store.runs.get("old-a")).run_id == "old-a"
    fb = FeedbackStore(store).latest("flood")
    assert [(f.run_id, f.note) for f in fb] == [("old-a", "kept")]
    assert EvalRun.from_record(store.evals.reference("bundled")).eval_id == "ev1"
    assert recent_texts(store, 10)[0] == "old text"
    reg = Registry(store)
    assert [(v.expert, v.version, v.status) for v in reg.versions()] == [("fire", 1, "active")]
    assert reg.rollout("fire").incumbent == 1
    # new rows go after the old ones; the new tables work
    reg.register({"expert": "fire", "path": "/b", "base": "b", "data_sha256": "y"})
    assert [v.version for v in reg.versions("fire")] == [1, 2]
    assert store.adapter_ids.id("fire") >= 1 and store.jobs.list() == []
    again = run_cli("db", "upgrade", "--json", "-c", str(cfg), timeout=120)
    assert json.loads(again.stdout)["from"] == "0002_one_store"  # nothing left to do


def test_a_partial_first_layout_store_is_completed(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    runs_only = OLD_SCHEMA.split("CREATE TABLE IF NOT EXISTS eval_runs")[0]
    order = _old_store(path, runs_only)
    store = open_store(path)  # opening upgrades automatically
    assert store.revision().up_to_date
    assert [r.run_id for r in store.runs.list()] == order
    assert FeedbackStore(store).latest() == [] and Registry(store).versions() == []


def test_files_and_folders_are_private(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "store.db"
    old = os.umask(0)  # even a permissive umask gets private files
    try:
        store = open_store(path)
        store.runs.save(_record("p"))
    finally:
        os.umask(old)
    for d in (tmp_path / "a", tmp_path / "a" / "b"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    assert all(f.exists() for f in files)
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}


def test_the_default_store_and_its_home_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "new-home"
    monkeypatch.setenv("CRISIS_MAS_HOME", str(home))
    store = open_store()  # default: $CRISIS_MAS_HOME/runs.db
    assert store.path == home / "runs.db" and store.revision().up_to_date
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def _record(run_id: str):  # noqa: ANN202 - a RunRecord
    from crisis_mas.report.records import run_record

    return run_record(make_report(S, A, run_id=run_id))


OPEN_AT = """
import sys, time
from crisis_mas.store import open_store
url, at, name = sys.argv[1], float(sys.argv[2]), sys.argv[3]
time.sleep(max(0.0, at - time.time()))
store = open_store(url)
print(store.adapter_ids.ids(["fire@v2", "police@v2", name, "fire"]))
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_opening_a_new_store_at_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Four processes open the same new store at the same moment: one migrates, the others wait
    for it; they all agree on the adapter ids, and no two adapters share one."""
    url = (
        f"sqlite:///{tmp_path / 'new.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_database")
    )
    at = time.time() + 4.0  # after every interpreter has started
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT, url, str(at), f"own-{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [e[-2000:] for _, e in outs]
    seen = [eval(o.strip()) for o, _ in outs]  # noqa: S307 - our own printed dicts
    shared = {k: v for k, v in seen[0].items() if not k.startswith("own-")}
    for ids in seen:
        assert {k: v for k, v in ids.items() if not k.startswith("own-")} == shared
    everything = open_store(url).adapter_ids.all()
    assert len(everything) == 3 + 4 and len(set(everything.values())) == 7
    assert open_store(url).revision().up_to_date


def test_auto_upgrade_off_asks_for_db_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    _old_store(path)
    with pytest.raises(StoreError, match="crisis-mas db upgrade"):
        open_store(StoreConfig(path=str(path), auto_upgrade=False))
    open_store(StoreConfig(path=str(path))).upgrade()
    assert open_store(StoreConfig(path=str(path), auto_upgrade=False)).revision().up_to_date


def test_urls_and_the_deprecated_path(tmp_path: Path) -> None:
    p = tmp_path / "x.db"
    assert resolve_url(StoreConfig(path=str(p))) == resolve_url(f"sqlite:///{p}")
    assert resolve_url(p).database == str(p)
    pg = resolve_url("postgresql://u@h:5/db")
    assert pg.drivername == "postgresql+psycopg" and pg.port == 5
    with pytest.raises(ValidationError, match="not both"):
        StoreConfig(url=f"sqlite:///{p}", path=str(p))
    with pytest.raises(ValidationError, match="must be sqlite"):
        StoreConfig(url="mysql://u@h/db")
    # the ops event log follows store.url; the deprecated events_path still moves it alone
    cfg = AppConfig.model_validate({"store": {"url": f"sqlite:///{p}"}})
    assert event_store(cfg.ops.metrics).path == p
    own = AppConfig.model_validate(
        {"store": {"url": f"sqlite:///{p}"}, "ops": {"metrics": {"events_path": str(p) + "e"}}}
    )
    assert event_store(own.ops.metrics).path == Path(str(p) + "e")
    assert "store" not in cfg.model_dump()["ops"]["metrics"]  # not repeated in YAML dumps


def test_an_unreachable_database_is_a_one_line_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text('store: {url: "postgresql://nobody@127.0.0.1:9/none"}\n')
    out = run_cli("runs", "list", "-c", str(cfg), timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "127.0.0.1" in out.stderr and "connection" in out.stderr.lower()
