"""Project-wide fixtures: an isolated $CRISIS_MAS_HOME per test session, and a CLI runner.

Converted model weights are shared with the real home (`~/.crisis-mas/models`) so the one-off
GGUF conversion is not repeated by every session; run state (run store, caches) stays isolated.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # helper modules beside the tests
CLI = str(REPO / ".venv" / "bin" / "crisis-mas")


@pytest.fixture(scope="session", autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("crisis-mas-home")
    # Share the expensive, deterministic artefacts (converted weights, the KB index) with the real
    # home; keep run stores, caches and metrics per session.
    for shared in ("models", "index"):
        real = Path.home() / ".crisis-mas" / shared
        real.mkdir(parents=True, exist_ok=True)
        (home / shared).symlink_to(real, target_is_directory=True)
    os.environ["CRISIS_MAS_HOME"] = str(home)
    os.environ["HF_HUB_OFFLINE"] = "1"
    for var in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "REDIS_URL", "CRISIS_MAS_API_TOKEN"):
        os.environ.pop(var, None)
    return home


def run_cli(
    *args: str, timeout: float = 1700, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the installed `crisis-mas` console script as a user would.

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
