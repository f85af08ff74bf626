"""Bad input to `crisis-mas run` exits 2 with one line naming the problem — never a traceback,
and never after loading a model (these run in well under a second each)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli

from crisis_mas.scenario import bundled_scenarios_dir

EVIA = json.loads((bundled_scenarios_dir() / "evia_wildfire.json").read_text())


def _write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


CASES = {
    "missing file": (lambda t: ["run", str(t / "nope.json")], "scenario file not found"),
    "malformed json": (lambda t: ["run", _write(t, "a.json", '{"id": ')], "malformed JSON"),
    "malformed yaml": (lambda t: ["run", _write(t, "a.yaml", "id: [x\n")], "malformed YAML"),
    "wrong type": (
        lambda t: ["run", _write(t, "a.json", json.dumps({**EVIA, "severity": "very high"}))],
        "severity",
    ),
    "no alternatives": (
        lambda t: ["run", _write(t, "a.json", json.dumps({**EVIA, "available_actions": []}))],
        "available_actions",
    ),
    "unknown expert": (
        lambda t: ["run", "evia_wildfire", "--experts", "fire,astronaut"],
        "unknown expert 'astronaut'",
    ),
    "empty experts": (lambda t: ["run", "evia_wildfire", "--experts", " , "], "--experts"),
    "bad config": (
        lambda t: [
            "run",
            "evia_wildfire",
            "--config",
            _write(t, "c.yaml", "model:\n  backend: tpu\n"),
        ],
        "model.backend",
    ),
    "unknown run": (lambda t: ["runs", "show", "no-such-run"], "no run with id"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_one_line(case: str, tmp_path: Path) -> None:
    args, needle = CASES[case]
    r = run_cli(*args(tmp_path), "--json", timeout=60)
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
