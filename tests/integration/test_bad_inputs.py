"""The bad-input corpus (tests/data/bad_inputs.json) against the installed CLI and the HTTP app.

CLI: every case is run as a subprocess (exit 2, one line naming the problem, no traceback, no
hang) and again in-process through the same Typer app, where its handling time is measured
without the interpreter's start-up (about a second on this machine): under one second each.
The YAML bomb's memory is measured on its own subprocess (`wait4` rusage) against the same
command on a valid file.

HTTP: every case against the real app on a real socket (stand-in model handle); the e2e module
test_serve_hardening.py runs the same cases against `crisis-mas serve` with the real engine.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from badinputs import (
    bytes_of,
    check_cli,
    check_http,
    corpus,
    run_cli_case,
    run_http_case,
)
from clirun import CLI, REPO
from standin_app import serve

CASES = corpus()
CLI_CASES = CASES["cli"]
HTTP_CASES = CASES["http"]


def test_the_corpus_has_at_least_forty_cases() -> None:
    assert len(CLI_CASES) + len(HTTP_CASES) >= 40
    ids = [c["id"] for c in CLI_CASES + HTTP_CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CLI_CASES, ids=[c["id"] for c in CLI_CASES])
def test_cli_case_exits_2_naming_the_problem(case: dict, tmp_path: Path) -> None:
    out = run_cli_case(case, tmp_path)
    assert check_cli(case, out) == []
    assert len([ln for ln in out.detail.splitlines() if ln.startswith("error:")]) <= 1


def test_cli_cases_are_answered_in_under_a_second_in_process(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from crisis_mas.cli.main import app

    runner = CliRunner()
    runner.invoke(app, ["scenarios", "validate", "evia_wildfire"])  # imports, once
    slow, wrong = [], []
    for case in CLI_CASES:
        folder = tmp_path / case["id"]
        folder.mkdir()
        path = folder / case["file"]["name"] if case.get("file") else None
        if path is not None:
            path.write_bytes(bytes_of(case["file"]))
        args = [a.replace("{file}", str(path)).replace("{dir}", str(folder)) for a in case["args"]]
        t = time.perf_counter()
        result = runner.invoke(app, args)
        took = time.perf_counter() - t
        if took >= 1.0:
            slow.append((case["id"], round(took, 2)))
        if result.exit_code != 2:
            wrong.append((case["id"], result.exit_code, result.output[-300:]))
    assert wrong == [] and slow == []


def _peak_rss_mb(args: list[str]) -> tuple[int, float, float]:
    """(exit status, peak RSS in MB, seconds) of one `crisis-mas` subprocess."""
    t = time.perf_counter()
    proc = subprocess.Popen(
        [CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024, time.perf_counter() - t


def test_yaml_bomb_costs_no_memory(tmp_path: Path) -> None:
    bomb = next(c for c in CLI_CASES if c["id"] == "yaml-bomb-scenario")
    path = tmp_path / "bomb.yaml"
    path.write_bytes(bytes_of(bomb["file"]))
    assert path.stat().st_size < 1024
    code, peak, secs = _peak_rss_mb(["scenarios", "validate", str(path)])
    valid = REPO / "scenarios" / "evia_wildfire.json"
    _, baseline, base_secs = _peak_rss_mb(["scenarios", "validate", str(valid)])
    print(
        f"YAML bomb: exit {code}, {secs:.2f} s (valid file {base_secs:.2f} s), "
        f"peak RSS {peak:.0f} MB vs {baseline:.0f} MB for a valid file"
    )
    assert code == 2
    assert peak - baseline < 100
    assert secs - base_secs < 1.0  # the refusal itself, over the same start-up


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    srv = serve(tmp_path_factory.mktemp("bad-http"), token="tok", max_body_bytes=262_144)
    yield srv
    srv.stop()


def test_http_cases_answer_fast_with_the_error_object(live) -> None:  # noqa: ANN001
    problems, slowest = [], (0.0, "")
    with httpx.Client(base_url=live.url, timeout=30) as client:
        for case in HTTP_CASES:
            out = run_http_case(client, case, "tok")
            problems += check_http(case, out)
            if out.seconds >= 1.0:
                problems.append(f"{case['id']}: {out.seconds:.2f} s")
            slowest = max(slowest, (out.seconds, case["id"]))
        # the server is unharmed: a normal request still works
        assert client.get("/v1/runs", headers={"authorization": "Bearer tok"}).status_code == 200
    print(f"{len(HTTP_CASES)} HTTP cases, slowest {slowest[1]} {slowest[0] * 1000:.0f} ms")
    assert problems == []
