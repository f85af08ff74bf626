"""`Store`: one database (SQLite file or PostgreSQL) and its repositories; `open_store` gives the
process one `Store` per URL, migrated to the newest schema on first open."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, exc

from crisis_mas.errors import CrisisMasError
from crisis_mas.store.adapter_ids import AdapterIds
from crisis_mas.store.config import StoreConfig
from crisis_mas.store.engine import (
    WRITE_OPTION,
    display_url,
    make_engine,
    resolve_url,
    sqlite_file,
)
from crisis_mas.store.evals import EvalRepo
from crisis_mas.store.events import AlertStates, EventLog
from crisis_mas.store.feedback import FeedbackRepo
from crisis_mas.store.inputs import InputRepo
from crisis_mas.store.jobs import JobRepo
from crisis_mas.store.migrate import Revision, current, upgrade
from crisis_mas.store.registry import RegistryRepo
from crisis_mas.store.runs import RunRepo

MAX_OPEN = 32  # stores kept open per process (tests open one per temp dir); oldest disposed


class StoreError(CrisisMasError):
    """The store cannot be reached or is not at the schema this version needs."""


class Store:
    """One database and a repository per concern. Transactions: `read()` and `write()`."""

    def __init__(self, target: StoreConfig | str | Path | None = None):
        cfg = target if isinstance(target, StoreConfig) else StoreConfig()
        self.cfg = cfg
        self.sa_url = resolve_url(target)
        self.url = display_url(self.sa_url)  # no password
        self.path: Path | None = sqlite_file(self.sa_url)
        self.dialect = self.sa_url.get_backend_name()
        self.engine = make_engine(self.sa_url, cfg)
        self.runs = RunRepo(self)
        self.evals = EvalRepo(self)
        self.feedback = FeedbackRepo(self)
        self.inputs = InputRepo(self)
        self.registry = RegistryRepo(self)
        self.jobs = JobRepo(self)
        self.events = EventLog(self)
        self.alerts = AlertStates(self)
        self.adapter_ids = AdapterIds(self)
        self._migrated = False
        self._lock = threading.Lock()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE, so it waits for other writers)."""
        conn = self.engine.connect().execution_options(**{WRITE_OPTION: True})
        with conn, conn.begin():
            yield conn

    def revision(self) -> Revision:
        return self._guard(lambda: current(self.engine, self.url))

    def upgrade(self) -> tuple[Revision, Revision]:
        """Apply pending migrations (any process may; they serialise on a lock)."""
        return self._guard(lambda: upgrade(self.engine, self.url))

    def ensure_schema(self, auto_upgrade: bool | None = None) -> None:
        """Once per process: upgrade (`auto_upgrade`) or check that the schema is current."""
        if self._migrated:
            return
        with self._lock:
            if self._migrated:
                return
            if self.cfg.auto_upgrade if auto_upgrade is None else auto_upgrade:
                self.upgrade()
            else:
                rev = self.revision()
                if not rev.up_to_date:
                    raise StoreError(
                        f"store {self.url} is at revision {rev.revision or 'none'}, this version "
                        f"needs {rev.head}: run `crisis-mas db upgrade`"
                    )
            self._migrated = True

    def _guard(self, fn):  # noqa: ANN001, ANN202 - a thunk and its result
        try:
            return fn()
        except exc.OperationalError as err:
            reason = str(err.orig or err).strip().splitlines()[0]
            raise StoreError(f"store {self.url}: {reason}") from None

    def dispose(self) -> None:
        self.engine.dispose()


_open: OrderedDict[tuple[int, str], Store] = OrderedDict()
_open_lock = threading.Lock()

StoreRef = Store | StoreConfig | str | Path | None


def open_store(target: StoreRef = None, *, migrate_schema: bool = True) -> Store:
    """The process's `Store` for this config / URL / SQLite path (None: `$CRISIS_MAS_HOME`),
    migrated on first open unless `migrate_schema` is False (`crisis-mas db current`)."""
    if isinstance(target, Store):
        store = target
    else:
        key = (os.getpid(), resolve_url(target).render_as_string(hide_password=False))
        with _open_lock:
            store = _open.get(key)  # type: ignore[assignment]
            if store is None:
                store = _open[key] = Store(target)
                while len(_open) > MAX_OPEN:
                    _open.popitem(last=False)[1].dispose()
            _open.move_to_end(key)
    if migrate_schema:
        store.ensure_schema(target.auto_upgrade if isinstance(target, StoreConfig) else None)
    return store


def existing_store(target: StoreRef = None) -> Store | None:
    """The store if it exists; None for a SQLite file not created yet (nothing is created)."""
    if not isinstance(target, Store):
        path = sqlite_file(resolve_url(target))
        if path is not None and not path.is_file():
            return None
    return open_store(target)
