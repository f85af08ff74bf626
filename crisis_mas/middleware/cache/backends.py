"""Where cached answers live: Redis (shared, `REDIS_URL`) or an embedded SQLite file (default).

Both store the same things: exact entries (JSON, with a TTL), semantic references per scope
(vector + fact signature, pointing at an exact entry), and counters for `cache stats`. Entries
carry a label `namespace:op:kind:adapter:expert` that `cache clear --pattern` matches (glob).
Backends raise on failure; the cache link turns failures into a bypass.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sqlite3
import struct
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from crisis_mas.middleware.config import CacheConfig

COUNTERS = (
    "hits_exact",
    "hits_semantic",
    "misses",
    "tokens_saved",
    "stores",
    "bypassed",
    "uncacheable",
)


@dataclass
class SemanticRef:
    key: str
    vector: np.ndarray
    signature: frozenset[str]


def _pack(vector: np.ndarray, signature: frozenset[str]) -> bytes:
    vec = np.ascontiguousarray(vector, dtype=np.float32)
    return struct.pack("<H", vec.shape[0]) + vec.tobytes() + json.dumps(sorted(signature)).encode()


def _unpack(key: str, blob: bytes) -> SemanticRef:
    (dim,) = struct.unpack_from("<H", blob)
    vec = np.frombuffer(blob, dtype=np.float32, count=dim, offset=2)
    sig = frozenset(json.loads(blob[2 + 4 * dim :].decode()))
    return SemanticRef(key, vec, sig)


class CacheBackend(ABC):
    """Storage for the response cache. Every method may raise; callers bypass on errors."""

    name = "backend"

    @abstractmethod
    def get_many(self, ns: str, keys: list[str]) -> list[dict | None]:
        """Entries (None where missing or expired), in `keys` order."""

    @abstractmethod
    def set(self, ns: str, key: str, entry: dict, ttl_s: int) -> None: ...

    @abstractmethod
    def add_semantic(
        self,
        ns: str,
        scope: str,
        key: str,
        vector: np.ndarray,
        signature: frozenset[str],
        ttl_s: int,
        max_entries: int,
    ) -> None: ...

    @abstractmethod
    def semantic_refs(self, ns: str, scope: str) -> list[SemanticRef]: ...

    @abstractmethod
    def drop_semantic(self, ns: str, scope: str, key: str) -> None: ...

    @abstractmethod
    def incr(self, counters: dict[str, int]) -> None: ...

    @abstractmethod
    def stats(self) -> dict: ...

    @abstractmethod
    def clear(self, pattern: str | None = None) -> int:
        """Delete entries whose label matches the glob (all when None); returns how many."""

    @abstractmethod
    def ping(self) -> None: ...

    def describe(self) -> str:
        return self.name

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class SQLiteBackend(CacheBackend):
    """The embedded default: one SQLite file, so repeated CLI runs share the cache."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
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
                (ns, scope, key, now + ttl_s, now, _pack(vector, signature)),
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
        return [_unpack(k, bytes(b)) for k, b in rows]

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


class RedisBackend(CacheBackend):
    """Shared cache in Redis: `cmas:c:<ns>:e:<key>` strings with EX, `...:s:<scope>` hashes."""

    name = "redis"
    PREFIX = "cmas:c"

    def __init__(self, url: str, timeout_s: float = 0.5, max_connections: int = 32) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = url
        # Blocking pool: redis-py 8's default pool raises past max_connections under load.
        # No retries: when Redis is down we want to fail fast and bypass, not wait.
        self._pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout_s,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._r = redis.Redis(connection_pool=self._pool)

    def _e(self, ns: str, key: str) -> str:
        return f"{self.PREFIX}:{ns}:e:{key}"

    def _s(self, ns: str, scope: str) -> str:
        return f"{self.PREFIX}:{ns}:s:{scope}"

    def get_many(self, ns: str, keys: list[str]) -> list[dict | None]:
        if not keys:
            return []
        raw = self._r.mget([self._e(ns, k) for k in keys])
        return [json.loads(v) if v is not None else None for v in raw]

    def set(self, ns: str, key: str, entry: dict, ttl_s: int) -> None:
        self._r.set(self._e(ns, key), json.dumps(entry), ex=max(1, int(ttl_s)))

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
        name = self._s(ns, scope)
        pipe = self._r.pipeline(transaction=False)
        pipe.hset(name, key, _pack(vector, signature))
        # The hash lives as long as its newest entry; stale refs are dropped on lookup.
        pipe.expire(name, max(1, int(ttl_s)), gt=True)
        pipe.expire(name, max(1, int(ttl_s)), nx=True)
        pipe.hlen(name)
        n = pipe.execute()[-1]
        if n > max_entries:
            extra = list(self._r.hkeys(name))[: n - max_entries]
            if extra:
                self._r.hdel(name, *extra)

    def semantic_refs(self, ns: str, scope: str) -> list[SemanticRef]:
        raw = self._r.hgetall(self._s(ns, scope))
        return [_unpack(k.decode(), v) for k, v in raw.items()]

    def drop_semantic(self, ns: str, scope: str, key: str) -> None:
        self._r.hdel(self._s(ns, scope), key)

    def incr(self, counters: dict[str, int]) -> None:
        pipe = self._r.pipeline(transaction=False)
        for k, v in counters.items():
            if v:
                pipe.hincrby(f"{self.PREFIX}:stats", k, v)
        pipe.execute()

    def _scan(self, match: str):  # noqa: ANN202 - iterator of bytes keys
        return self._r.scan_iter(match=match, count=1000)

    def stats(self) -> dict:
        counters = {k.decode(): int(v) for k, v in self._r.hgetall(f"{self.PREFIX}:stats").items()}
        keys = list(self._scan(f"{self.PREFIX}:*:e:*"))
        size = 0
        for i in range(0, len(keys), 500):
            pipe = self._r.pipeline(transaction=False)
            for k in keys[i : i + 500]:
                pipe.strlen(k)
            size += sum(pipe.execute())
        n_sem = 0
        for name in self._scan(f"{self.PREFIX}:*:s:*"):
            n_sem += self._r.hlen(name)
        return {
            **{c: counters.get(c, 0) for c in COUNTERS},
            "entries": len(keys),
            "semantic_entries": n_sem,
            "bytes": size,
        }

    def clear(self, pattern: str | None = None) -> int:
        if pattern is None:
            n = 0
            doomed = list(self._scan(f"{self.PREFIX}:*"))
            for i in range(0, len(doomed), 500):
                chunk = doomed[i : i + 500]
                n += sum(1 for k in chunk if b":e:" in k)
                self._r.delete(*chunk)
            return n
        n = 0
        keys = list(self._scan(f"{self.PREFIX}:*:e:*"))
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            values = self._r.mget(chunk)
            doomed = [
                k
                for k, v in zip(chunk, values, strict=True)
                if v is not None and fnmatch.fnmatchcase(json.loads(v).get("label", ""), pattern)
            ]
            if doomed:
                self._r.delete(*doomed)
                n += len(doomed)
        return n

    def ping(self) -> None:
        self._r.ping()

    def describe(self) -> str:
        return f"redis:{redact_url(self.url)}"

    def close(self) -> None:
        self._pool.disconnect()


def redact_url(url: str) -> str:
    """Hide a password in a Redis URL for logs and health output."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def redis_url(cfg: CacheConfig) -> str | None:
    return cfg.redis_url or os.environ.get("REDIS_URL") or None


def open_backend(cfg: CacheConfig) -> CacheBackend:
    """Redis when configured (or forced), else the SQLite file under $CRISIS_MAS_HOME/cache."""
    url = redis_url(cfg)
    if cfg.backend == "redis" or (cfg.backend == "auto" and url):
        return RedisBackend(
            url or "redis://127.0.0.1:6379/0", cfg.redis_timeout_s, cfg.redis_max_connections
        )
    if cfg.sqlite_path:
        path = Path(cfg.sqlite_path).expanduser()
    else:
        from crisis_mas.paths import home

        path = home() / "cache" / "responses.db"
    return SQLiteBackend(path)
