"""Where crisis-mas keeps state (`$CRISIS_MAS_HOME`, default `~/.crisis-mas`) and data folders."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    """State directory: converted models, run store, caches. Created on first use."""
    p = Path(os.environ.get("CRISIS_MAS_HOME", Path.home() / ".crisis-mas")).expanduser()
    if not p.is_dir():  # private: it holds the run store, caches and logs
        p.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(p, 0o700)
    return p


def shared_data() -> Path:
    """Third-party test/benchmark material beside the project root (`../shared/data`)."""
    return Path(os.environ.get("CRISIS_MAS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
