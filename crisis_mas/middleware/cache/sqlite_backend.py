"""The embedded cache backend: one SQLite file (WAL), so repeated CLI runs share the cache.

The file and its folder are private to the user (0600 / 0700): cached answers hold scenario text
and model output. SQLite gives its -wal and -shm files the database file's permissions.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np

from crisis_mas.middleware.cache.base import (
    COUNTERS,
    CacheBackend,
    SemanticRef,
    pack_ref,
    unpack_ref,
)


def private_file(path: Path, own_folder: bool = False) -> None:
    """Create `path` readable by the user only (0600; an existing file is tightened). A folder
    it creates is 0700; an existing one is tightened only when it is ours alone (`own_folder`,
    e.g. $CRISIS_MAS_HOME/cache), never a folder the user pointed us into."""
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if own_folder and folder.stat().st_uid == os.getuid():
        os.chmod(folder, 0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.chmod(side, 0o600)


class SQLiteBackend(CacheBackend):
    """The embedded default: one SQLite file, so repeated CLI runs share the cache."""

    name = "sqlite"

    def __init__(self, path: Path, own_folder: bool = False) -> None:
        self.path = path
        private_file(path, own_folder)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path), timeout=2.0, check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS entries (
                ns TEXT, key TEXT, label TEXT, expires REAL, value TEXT,
                PRIMARY KEY (ns, key));
            CREATE TABLE IF NOT EXISTS semantic (
                ns TEXT, scope TEXT, key TEXT, expires REAL, created REAL, ref BLOB,
                PRIMARY KEY (ns, scope, key));
            CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER);
            """
        )
        self._writes = 0
        self._purge()

    def _purge(self) -> None:
        now = time.time()
        with self._lock:
            self._db.execute("DELETE FROM entries WHERE expires < ?", (now,))
            self._db.execute("DELETE FROM semantic WHERE expires < ?", (now,))

    def get_many(self, ns: str, keys: list[str]) -> list[dict | None]:
        if not keys:
            return []
        now = time.time()
        marks = ",".join("?" * len(keys))
        with self._lock:
            rows = self._db.execute(
                f"SELECT key, value FROM entries WHERE ns = ? AND key IN ({marks}) "
                "AND expires >= ?",
                (ns, *keys, now),
            ).fetchall()
        found = {k: json.loads(v) for k, v in rows}
        return [found.get(k) for k in keys]

    def set(self, ns: str, key: str, entry: dict, ttl_s: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)",
                (ns, key, entry.get("label", ""), time.time() + ttl_s, json.dumps(entry)),
            )
            self._writes += 1
        if self._writes % 500 == 0:
            self._purge()

    def add_semantic(
        self,
        ns: str,
        scope: str,
        key: str,
        vector: np.ndarray,
        signature: frozenset[str],
        ttl_s: int,
        max_entries: int,
    ) -> None:
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO semantic VALUES (?, ?, ?, ?, ?, ?)",
                (ns, scope, key, now + ttl_s, now, pack_ref(vector, signature)),
            )
            (n,) = self._db.execute(
                "SELECT COUNT(*) FROM semantic WHERE ns = ? AND scope = ?", (ns, scope)
            ).fetchone()
            if n > max_entries:
                self._db.execute(
                    "DELETE FROM semantic WHERE rowid IN (SELECT rowid FROM semantic "
                    "WHERE ns = ? AND scope = ? ORDER BY created LIMIT ?)",
                    (ns, scope, n - max_entries),
                )

    def semantic_refs(self, ns: str, scope: str) -> list[SemanticRef]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, ref FROM semantic WHERE ns = ? AND scope = ? AND expires >= ?",
                (ns, scope, time.time()),
            ).fetchall()
        return [unpack_ref(k, bytes(b)) for k, b in rows]

    def drop_semantic(self, ns: str, scope: str, key: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM semantic WHERE ns = ? AND scope = ? AND key = ?", (ns, scope, key)
            )

    def incr(self, counters: dict[str, int]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT INTO counters VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                [(k, v) for k, v in counters.items() if v],
            )

    def stats(self) -> dict:
        now = time.time()
        with self._lock:
            counters = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
            n, size = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(value)), 0) FROM entries WHERE expires >= ?",
                (now,),
            ).fetchone()
            (n_sem,) = self._db.execute(
                "SELECT COUNT(*) FROM semantic WHERE expires >= ?", (now,)
            ).fetchone()
        return {
            **{c: int(counters.get(c, 0)) for c in COUNTERS},
            "entries": int(n),
            "semantic_entries": int(n_sem),
            "bytes": int(size),
        }

    def clear(self, pattern: str | None = None) -> int:
        with self._lock:
            if pattern is None:
                (n,) = self._db.execute("SELECT COUNT(*) FROM entries").fetchone()
                self._db.execute("DELETE FROM entries")
                self._db.execute("DELETE FROM semantic")
                self._db.execute("DELETE FROM counters")
                return int(n)
            rows = self._db.execute("SELECT ns, key, label FROM entries").fetchall()
            doomed = [(ns, k) for ns, k, label in rows if fnmatch.fnmatchcase(label, pattern)]
            self._db.executemany("DELETE FROM entries WHERE ns = ? AND key = ?", doomed)
            self._db.executemany("DELETE FROM semantic WHERE ns = ? AND key = ?", doomed)
            return len(doomed)

    def ping(self) -> None:
        with self._lock:
            self._db.execute("SELECT 1").fetchone()

    def describe(self) -> str:
        return f"sqlite:{self.path}"

    def close(self) -> None:
        with self._lock:
            self._db.close()
