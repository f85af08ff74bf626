"""The eval harness runs the real Assessor (on a scripted pool here), stores reports and the eval
run, and the `eval` command function prints metrics and a verdict."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from evalkit import FakePool, fake_config
from typer.testing import CliRunner

from crisis_mas.assess import Assessor
from crisis_mas.evals.harness import run_suite
from crisis_mas.store import open_store


def test_run_suite_through_the_assessor(tmp_path: Path) -> None:
    cfg = fake_config(str(tmp_path / "runs.db"))
    pool = FakePool(prefer=0)
    run = run_suite("bundled", cfg, "fake", assessor=Assessor(cfg, pool=pool))
    assert run.metrics.n_runs == 8 and pool.generated > 0
    assert run.metrics.schema_valid_rate == 1.0
    assert run.model == "fake on scripted"
    stored = open_store(cfg.store).runs.list(limit=50)
    assert len(stored) == 8 and all(r.run_id.startswith(f"eval-{run.eval_id}-") for r in stored)
    # every score names a real alternative of its scenario
    assert all(s.recommended for s in run.scores)


def test_eval_command_compares_against_a_stored_run(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import crisis_mas.evals.harness as harness
    from crisis_mas.cli.eval import eval as eval_cmd

    db = tmp_path / "runs.db"
    cfg_file = tmp_path / "a.yaml"
    cfg_file.write_text(
        f"model: {{use_adapters: false}}\nops: {{chain: []}}\nrag: {{enabled: false}}\n"
        f"store: {{path: {db}}}\n"
    )
    real = harness.run_suite
    prefer = {"n": 0}

    def scripted(suite, config, label, **kw):  # noqa: ANN001, ANN202
        return real(suite, config, label, assessor=Assessor(config, pool=FakePool(prefer["n"])))

    monkeypatch.setattr(harness, "run_suite", scripted)
    app = typer.Typer()
    app.command()(eval_cmd)
    runner = CliRunner()
    first = runner.invoke(app, ["bundled", "--config", str(cfg_file), "--json", "--set-reference"])
    assert first.exit_code == 0, first.output
    base_id = json.loads(first.stdout)["eval"]["eval_id"]
    assert open_store(db).evals.reference("bundled").eval_id == base_id

    prefer["n"] = 1
    out = runner.invoke(app, ["bundled", "--config", str(cfg_file), "--against", base_id])
    assert out.exit_code == 0, out.output
    assert "top-1 acceptable" in out.stdout and "verdict:" in out.stdout

    missing = runner.invoke(app, ["bundled", "--config", str(cfg_file), "--against", "nope"])
    assert missing.exit_code == 2 and "no config file or stored eval run" in missing.output


def test_eval_command_with_judge(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from test_eval_judge import PositionBiased

    import crisis_mas.evals.harness as harness
    import crisis_mas.pool.factory as factory
    from crisis_mas.cli.eval import eval as eval_cmd

    db = tmp_path / "runs.db"
    cfg_file = tmp_path / "a.yaml"
    cfg_file.write_text(
        f"model: {{use_adapters: false}}\nops: {{chain: []}}\nrag: {{enabled: false}}\n"
        f"store: {{path: {db}}}\n"
    )
    real = harness.run_suite
    monkeypatch.setattr(
        harness,
        "run_suite",
        lambda suite, config, label, **kw: real(
            suite, config, label, assessor=Assessor(config, pool=FakePool(0))
        ),
    )
    monkeypatch.setattr(factory, "build_pool", lambda model, adapters: PositionBiased())
    app = typer.Typer()
    app.command()(eval_cmd)
    runner = CliRunner()
    first = runner.invoke(app, ["bundled", "--config", str(cfg_file), "--json"])
    base_id = json.loads(first.stdout)["eval"]["eval_id"]
    args = ["bundled", "-c", str(cfg_file), "--against", base_id, "--judge", str(cfg_file)]
    out = runner.invoke(app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    judge = json.loads(out.stdout)["judge"]
    assert judge["ties"] == 8 and judge["wins_a"] == judge["wins_b"] == 0  # position bias cancels
    no_base = runner.invoke(app, ["bundled", "-c", str(cfg_file), "--judge", str(cfg_file)])
    assert no_base.exit_code == 2 and "--against" in no_base.output


def test_repeats_and_custom_suite_folder(tmp_path: Path) -> None:
    import shutil

    from crisis_mas.evals.labels import SUITES_DIR

    suite = tmp_path / "one"
    suite.mkdir()
    shutil.copy(SUITES_DIR / "bundled" / "elefsina_ammonia.yaml", suite)
    cfg = fake_config(str(tmp_path / "runs.db"))
    run = run_suite(str(suite), cfg, "fake", assessor=Assessor(cfg, pool=FakePool()), repeats=2)
    assert run.suite == "one" and [s.run_id[-2:] for s in run.scores] == ["-0", "-1"]
    assert len(run.by_scenario()["hazmat_001"]) == 2


def test_counterfactual_suite_and_redecide_without_model_calls(tmp_path: Path) -> None:
    """The counterfactual metrics come out of a run, and a stored run can be re-decided with
    another coordinator setting from its stored reports alone."""
    from crisis_mas.evals.redecide import redecide

    cfg = fake_config(str(tmp_path / "runs.db"))
    pool = FakePool(prefer=0)
    run = run_suite("counterfactual", cfg, "fake", assessor=Assessor(cfg, pool=pool))
    c = run.metrics.counterfactual
    assert c is not None and c.n_pairs == 13 and c.n_scenarios == 26
    assert 0.3 < c.chance_scenarios < 0.4 and set(c.experts) and c.doctrine_right_rate is not None
    calls = pool.generated
    off = cfg.model_copy(
        update={"aggregation": cfg.aggregation.model_copy(update={"doctrine": False})}
    )
    again = redecide(run, off, "x1")
    assert pool.generated == calls  # no model call
    assert again.config == "fake+redecided" and len(again.scores) == len(run.scores)
    assert all(s.doctrine_hit is None for s in again.scores)
    # doctrine off, flat-by-position beliefs: the decision can no longer follow the facts
    assert again.metrics.counterfactual.pairs_both_right <= c.pairs_both_right
