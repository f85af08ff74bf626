"""Project-wide test set-up: an isolated $CRISIS_MAS_HOME per session, shared fixtures, and one
marker per folder (`unit`, `integration`, `e2e`), so a run can select by what tests need.

- tests/unit: no model, no server; seconds.
- tests/integration: real Redis, PostgreSQL, MiniLM, FAISS, the CLI as a subprocess.
- tests/e2e: the real engine and Ray Serve (marked `slow` too).

Converted model weights and the knowledge-base index are shared with the real home
(`~/.crisis-mas/models`, `index`) so the one-off conversion is not repeated by every session;
run state (store, caches) stays isolated.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS / "support"))  # helper modules: evalkit, clirun, ops_fixtures, ...

# redis_server, ops_home, fake_pool; postgres_url, pg_database (a private PostgreSQL server)
pytest_plugins = ["ops_fixtures", "pg_server"]

_LAYERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        layer = Path(str(item.fspath)).relative_to(TESTS).parts[0]
        if layer in _LAYERS:
            item.add_marker(getattr(pytest.mark, layer))
            if layer == "e2e":
                item.add_marker(pytest.mark.slow)


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
