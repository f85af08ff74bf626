"""From a store location (config, URL, file path) to a SQLAlchemy engine.

SQLite files are opened in WAL mode with a busy timeout, every transaction is an explicit BEGIN
(BEGIN IMMEDIATE for writes, so a read-then-write never fails on a lock it could have waited for),
and the file, its WAL/SHM companions and the folders created for them are private to the user
(0600/0700). PostgreSQL goes through psycopg 3 with a small connection pool.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url

from crisis_mas.errors import InputError
from crisis_mas.store.config import StoreConfig

StoreTarget = StoreConfig | str | Path | None
WRITE_OPTION = "crisis_mas_write"  # execution option: this transaction will write
FILE_MODE = 0o600
DIR_MODE = 0o700


def default_path() -> Path:
    """The embedded store of this `$CRISIS_MAS_HOME`."""
    from crisis_mas.paths import home

    return home() / "runs.db"


def resolve_url(target: StoreTarget) -> URL:
    """The database URL of a store config, a URL string, a SQLite file path, or None (default)."""
    if isinstance(target, StoreConfig):
        target = target.url or (Path(target.path) if target.path else None)
    if target is None:
        target = default_path()
    if isinstance(target, Path) or "://" not in target:
        return URL.create("sqlite", database=str(Path(target).expanduser().absolute()))
    try:
        url = make_url(target)
    except Exception as err:  # sqlalchemy.exc.ArgumentError
        raise InputError(f"store.url: not a database URL: {err}") from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        driver = url.get_driver_name()
        keep = url.drivername if "+" in url.drivername and driver != "psycopg2" else None
        return url.set(drivername=keep or "postgresql+psycopg")
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise InputError("store.url: an in-memory SQLite store keeps nothing; give a file")
        return url.set(database=str(Path(url.database).expanduser().absolute()))
    raise InputError(f"store.url: unsupported database {backend!r} (sqlite or postgresql)")


def sqlite_file(url: URL) -> Path | None:
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def _private_dir(path: Path) -> None:
    """Create missing folders up to `path` as 0700 (existing ones are left as they are)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(d, DIR_MODE)  # mkdir's mode is masked by the umask


def private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (SQLite gives the WAL and SHM files the
    database file's mode); tighten an existing file of ours that is group/world-readable."""
    _private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE))
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        if st.st_uid == os.geteuid() and st.st_mode & 0o077:
            os.chmod(p, FILE_MODE)


def make_engine(url: URL, cfg: StoreConfig) -> Engine:
    """One engine per store URL (the caller caches it)."""
    path = sqlite_file(url)
    if path is None:
        return create_engine(
            url,
            pool_size=cfg.pool_size,
            max_overflow=cfg.pool_size,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 10, "application_name": "crisis-mas"},
        )
    private_sqlite_file(path)
    engine = create_engine(url, connect_args={"timeout": cfg.busy_timeout_s})
    busy_ms = int(cfg.busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event below emits BEGIN
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
        _wal(cur, cfg.busy_timeout_s)
        cur.execute("PRAGMA synchronous = NORMAL")  # WAL: durable against process crashes
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _wal(cur: Any, timeout_s: float) -> None:
    """Switch a new database file to WAL (persistent, so once per file). The switch needs an
    exclusive lock and SQLite may report a race on a brand-new file as "locked" without waiting
    (processes starting at once): retry until the busy timeout."""
    if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def display_url(url: URL) -> str:
    """The URL without its password (for logs, `db current` and health checks)."""
    return url.render_as_string(hide_password=True)
