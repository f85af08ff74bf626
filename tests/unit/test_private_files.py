"""Files the service and CLI write outside the store are private to the user: the response
cache's SQLite file (and its WAL/SHM files) 0600 in a 0700 folder, engine logs and tracebacks
0600, even under a permissive umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from crisis_mas.cli.common import EngineLog, write_private
from crisis_mas.middleware.cache.backends import open_backend
from crisis_mas.middleware.config import CacheConfig


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default: files 0644, folders 0755
    yield
    os.umask(old)


def test_cache_sqlite_file_and_folder_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_umask: None
) -> None:
    monkeypatch.setenv("CRISIS_MAS_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "cache").mkdir(parents=True, mode=0o755)
    old = tmp_path / "home" / "cache" / "responses.db"
    old.write_bytes(b"")
    old.chmod(0o644)  # a cache file from an older version
    backend = open_backend(CacheConfig(backend="sqlite"))
    backend.set("ns", "k", {"label": "x", "text": "chlorine leak at the port"}, 60)
    backend.add_semantic("ns", "s", "k", np.ones(4, dtype=np.float32), frozenset(), 60, 10)
    files = sorted((tmp_path / "home" / "cache").iterdir())
    assert {f.name for f in files} >= {"responses.db", "responses.db-wal", "responses.db-shm"}
    assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert _mode(tmp_path / "home" / "cache") == 0o700
    backend.close()


def test_configured_cache_path_keeps_its_folder_but_not_its_file(
    tmp_path: Path, open_umask: None
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    backend = open_backend(CacheConfig(backend="sqlite", sqlite_path=str(folder / "c.db")))
    backend.set("ns", "k", {"label": "x"}, 60)
    assert _mode(folder / "c.db") == 0o600
    assert _mode(folder) == 0o755  # the user's folder: not ours to change
    new = tmp_path / "fresh" / "deeper" / "c.db"
    open_backend(CacheConfig(backend="sqlite", sqlite_path=str(new))).close()
    assert _mode(new.parent) == 0o700 and _mode(new) == 0o600
    backend.close()


def test_engine_log_and_traceback_are_private(tmp_path: Path, open_umask: None) -> None:
    log = tmp_path / "out" / "run1" / "engine.log"
    with EngineLog(log):
        os.write(1, b"prompt text\n")
    assert _mode(log) == 0o600 and "prompt text" in log.read_text()
    tb = tmp_path / "logs" / "last-error.txt"
    write_private(tb, "Traceback ...")
    assert _mode(tb) == 0o600 and _mode(tb.parent) == 0o700
