"""The CLI's live per-expert progress, fed the Assessor's progress events (as `run` does), and the
engine-log redirection that keeps engine output off the terminal."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from crisis_mas.assess import ProgressEvent
from crisis_mas.cli.common import EngineLog
from crisis_mas.cli.progress import LiveProgress


def _e(stage: str, expert: str | None = None, **detail: object) -> ProgressEvent:
    return ProgressEvent(run_id="r1", stage=stage, expert=expert, detail=detail)


def test_rows_follow_each_expert_through_its_stages() -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=140, force_terminal=False)
    names = {"a1": "Sea evacuation", "a2": "Road evacuation"}
    with LiveProgress(console, names) as live:
        live.on_event(_e("selected", experts=["fire", "police"]))
        live.on_event(_e("retrieving"))
        assert {r.stage for r in live.rows.values()} == {"retrieving…"}
        live.on_event(_e("retrieved", "fire", passages=3))
        live.on_event(_e("generating"))
        assert live.rows["fire"].stage == "generating…" and live.rows["fire"].passages == 3
        live.on_event(
            _e(
                "generated",
                "fire",
                prompt_tokens=900,
                completion_tokens=80,
                attempts=2,
                flags=["pii"],
                error=None,
            )
        )
        live.on_event(
            _e(
                "generated",
                "police",
                prompt_tokens=850,
                completion_tokens=0,
                attempts=1,
                flags=[],
                error="model pool unavailable",
            )
        )
        assert live.rows["fire"].stage == "answered (2 attempts)"
        assert live.rows["police"].stage == "error"
        live.on_event(_e("scoring"))
        live.on_event(
            _e(
                "done",
                "fire",
                status="ok",
                recommended="a1",
                confidence=0.4,
                flags=["hazmat_contradiction"],
            )
        )
        live.on_event(
            _e("done", "police", status="fallback", recommended="a2", confidence=0.1, flags=[])
        )
        live.on_event(_e("decision", recommended="a1", consensus=0.8))
    out = buf.getvalue()
    assert "decided: Sea evacuation" in out
    fire = next(line for line in out.splitlines() if line.startswith("fire"))
    assert "done" in fire and "900+80" in fire and "Sea evacuation" in fire
    assert "hazmat_contradiction" in fire and "pii" in fire
    police = next(line for line in out.splitlines() if line.startswith("police"))
    assert "fallback (doctrine prior)" in police and "Road evacuation" in police


def test_engine_output_goes_to_the_log_not_the_terminal(tmp_path: Path) -> None:
    """A child process (like vLLM's engine core) and Python warnings write to fd 1/2 inside the
    block: the log gets them; the terminal gets only what the console prints."""
    script = f"""
import os, sys, subprocess, warnings
sys.path.insert(0, {str(Path.cwd())!r})
from pathlib import Path
from crisis_mas.cli.common import EngineLog
log = EngineLog(Path({str(tmp_path / "engine.log")!r}))
from crisis_mas.cli.progress import LiveProgress
import logging
with log, LiveProgress(log.console) as live:
    live.note("PROGRESS-LINE")
    subprocess.run(["sh", "-c", "echo ENGINE-STDOUT; echo ENGINE-STDERR >&2"])
    print("PY-STDOUT"); warnings.warn("PY-WARNING")
    # like vLLM: a logger configured during the run, bound to sys.stdout then
    h = logging.StreamHandler(sys.stdout); lg = logging.getLogger("engine"); lg.addHandler(h)
    lg.warning("PY-LOGGER")
print("AFTER")
"""
    # FORCE_COLOR: rich treats the captured stderr as a terminal, as a user's would be.
    env = {**os.environ, "FORCE_COLOR": "1"}
    r = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "AFTER"
    assert "PROGRESS-LINE" in r.stderr
    for noise in ("ENGINE-STDOUT", "ENGINE-STDERR", "PY-STDOUT", "PY-WARNING", "PY-LOGGER"):
        assert noise not in r.stdout + r.stderr
    log = (tmp_path / "engine.log").read_text()
    for noise in ("ENGINE-STDOUT", "ENGINE-STDERR", "PY-STDOUT", "PY-WARNING", "PY-LOGGER"):
        assert noise in log
    assert "ENGINE-STDERR" in EngineLog(tmp_path / "engine.log").tail()
