"""Run the installed `crisis-mas` console script as a user would (integration and e2e tests)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLI = str(REPO / ".venv" / "bin" / "crisis-mas")


def run_cli(
    *args: str, timeout: float = 1700, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run `crisis-mas ARGS` in the repo root and capture its output.

    On a timeout the CLI gets SIGTERM first (it then shuts its vLLM engine down); a plain kill
    would leave the engine process orphaned.
    """
    proc = subprocess.Popen(
        [CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
