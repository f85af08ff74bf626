"""A private PostgreSQL server for the tests: Debian's binaries (scripts/ensure_postgres.sh), a
fresh cluster in a temp dir, listening on 127.0.0.1 only, on a free port, password-protected,
stopped and deleted when the session ends.

`initdb` refuses to run as root, so as root the cluster belongs to Debian's `postgres` user and
every server command runs through `runuser -u postgres`. Fixtures: `postgres_url` (session: the
server's admin database) and `pg_database` (a fresh, empty database per test).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = "crisis"


def pg_bindir() -> Path | None:
    """Where initdb and pg_ctl are: PATH, else the newest /usr/lib/postgresql/*/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """One throwaway cluster; `url(db)` gives a SQLAlchemy URL for one of its databases."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="crisis-mas-pg-"))  # 0700, outside pytest's
        self.data = self.root / "data"
        self.port = _free_port()
        self.password = secrets.token_hex(16)
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.as_root:
            shutil.chown(pwfile, "postgres", "postgres")
        init = self._run(
            "initdb",
            "-D", str(self.data),
            "-U", USER,
            "--pwfile", str(pwfile),
            "--auth", "scram-sha-256",
            "-E", "UTF8",
            "--locale", "C",
            "--no-sync",
        )  # fmt: skip
        pwfile.unlink()
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stderr[-2000:]}")
        opts = (
            f"-h 127.0.0.1 -p {self.port} -k {self.root} -F "
            "-c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
        )
        start = self._run(
            "pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w",
            "-t", "60", "start",
        )  # fmt: skip
        if start.returncode != 0:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {start.stderr[-1000:]} {log[-2000:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    bindir = pg_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed: run scripts/ensure_postgres.sh (make test does)")
    server = PgServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PgServer) -> str:
    """The private server's admin database (session-wide)."""
    return postgres_server.url()


@pytest.fixture
def pg_database(postgres_server: PgServer) -> str:
    """A fresh, empty database on the private server for one test."""
    return postgres_server.new_database()
