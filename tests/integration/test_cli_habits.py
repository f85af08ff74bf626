"""CLI habits, through the installed `crisis-mas` script: --version, shell completion, the
`scenarios` commands (list, validate naming every bad field and warning on unknown ones, the JSON
Schema), --json/--config wherever a command reads config or prints data, whole run ids, a
stored run's reports written again (Greek), and hub model ids left online."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from clirun import run_cli

from crisis_mas import __version__
from crisis_mas.scenario import bundled_scenarios_dir


def test_version_and_completion() -> None:
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"crisis-mas {__version__}"
    r = run_cli("--show-completion", "bash")
    assert r.returncode == 0 and "_CRISIS_MAS_COMPLETE" in r.stdout


def test_scenarios_list_and_schema() -> None:
    r = run_cli("scenarios", "list", "--json")
    assert r.returncode == 0, r.stderr
    names = {s["name"] for s in json.loads(r.stdout)}
    assert names == {p.stem for p in bundled_scenarios_dir().glob("*.json")}
    r = run_cli("scenarios", "schema")
    schema = json.loads(r.stdout)
    assert schema["type"] == "object" and "available_actions" in schema["properties"]
    assert set(schema["required"]) >= {"id", "type", "name", "severity", "available_actions"}
    jsonschema = pytest.importorskip("jsonschema")
    for f in bundled_scenarios_dir().glob("*.json"):  # every bundled scenario fits its schema
        jsonschema.validate(json.loads(f.read_text()), schema)


def test_validate_names_every_bad_field_and_warns_on_unknown(tmp_path: Path) -> None:
    data = json.loads((bundled_scenarios_dir() / "evia_wildfire.json").read_text())
    data["severity"] = "very"
    data["available_actions"][1]["criteria_scores"]["safety"] = 1.7
    del data["available_actions"][2]["name"]
    data["expert_selection"]["crisis_typ"] = "wildfire"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    r = run_cli("scenarios", "validate", str(bad), "evia_wildfire")
    assert r.returncode == 2, r.stdout + r.stderr
    for field in (
        "severity",
        "available_actions.1.criteria_scores.safety",
        "available_actions.2.name",
    ):
        assert f"error   {field}:" in r.stdout, r.stdout
    assert "warning expert_selection.crisis_typ:" in r.stdout
    assert "evia_wildfire.json: ok" in r.stdout
    r = run_cli("scenarios", "validate", str(bad), "--json")
    [result] = json.loads(r.stdout)
    assert not result["valid"] and len(result["errors"]) == 3
    assert r.returncode == 2
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed\n")
    r = run_cli("scenarios", "validate", str(broken))
    assert r.returncode == 2 and "malformed YAML at line" in r.stdout
    assert run_cli("scenarios", "validate", "evia_wildfire", "--strict").returncode == 2
    assert run_cli("scenarios", "validate", "karditsa_flood").returncode == 0


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        (["run"], ["--json", "--config", "--lang", "--verbose"]),
        (["runs", "list"], ["--json", "--config"]),
        (["runs", "show"], ["--json", "--config", "--lang", "--out"]),
        (["adapters", "train"], ["--json", "--config"]),
        (["adapters", "list"], ["--json", "--config"]),
        (["adapters", "status"], ["--json", "--config"]),
        (["adapters", "register"], ["--json", "--config"]),
        (["adapters", "promote"], ["--json", "--config"]),
        (["adapters", "rollback"], ["--json", "--config"]),
        (["experts", "list"], ["--json"]),
        (["experts", "select"], ["--json", "--config"]),
        (["experts", "reliability"], ["--json", "--config"]),
        (["cache", "stats"], ["--json", "--config"]),
        (["cache", "clear"], ["--json", "--config"]),
        (["health"], ["--json", "--config"]),
        (["feedback"], ["--json", "--config"]),
        (["eval"], ["--json", "--config"]),
        (["drift", "check"], ["--json", "--config"]),
        (["rag", "search"], ["--json", "--config"]),
        (["scenarios", "list"], ["--json"]),
        (["scenarios", "validate"], ["--json"]),
    ],
)
def test_json_and_config_where_it_matters(command: list[str], flags: list[str]) -> None:
    r = run_cli(*command, "--help", env={"COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    for flag in flags:
        assert flag in r.stdout, (command, flag)


def test_whole_run_ids_and_reports_again(tmp_path: Path) -> None:
    from sample_report import sample_report  # a real decide() over a bundled scenario

    from crisis_mas.config import load_config
    from crisis_mas.report.model import Report
    from crisis_mas.runtime import persist_run
    from crisis_mas.scenario import load_scenario

    report = sample_report()
    run_id = report.run_id
    scen = load_scenario(bundled_scenarios_dir() / "evia_wildfire.json")
    persist_run(load_config(None), scen, report)
    r = run_cli("runs", "list", env={"COLUMNS": "70"})
    assert r.returncode == 0 and run_id in r.stdout  # not cut to fit a narrow terminal
    out = tmp_path / "again"
    r = run_cli("runs", "show", run_id, "--lang", "el", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "## Προτεινόμενη ενέργεια" in r.stdout
    assert Report.model_validate_json((out / "report.json").read_text()) == report
    assert "<html lang='el'>" in (out / "report.html").read_text()
    r = run_cli("run", "evia_wildfire", "--lang", "fr")
    assert r.returncode == 2 and "--lang" in r.stderr  # before any model is loaded


def test_hub_ids_stay_online_the_embedded_model_goes_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from crisis_mas.pool.embedded import offline_by_default

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    offline_by_default("meta-llama/Llama-3.1-8B-Instruct")
    assert "HF_HUB_OFFLINE" not in os.environ  # downloads like vLLM would
    offline_by_default(str(tmp_path))  # local weights: no hub needed
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    monkeypatch.delenv("HF_HUB_OFFLINE")
    offline_by_default("embedded:smollm2-135m-instruct")
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # the user's choice is kept
    offline_by_default("embedded:smollm2-135m-instruct")
    assert os.environ["HF_HUB_OFFLINE"] == "0"
