"""`crisis-mas db current|upgrade`: where the store's schema stands, and applying its migrations.

Every process also upgrades the store when it first opens it (`store.auto_upgrade`), so these
are for operators: to see the revision, or to migrate a shared PostgreSQL store before rolling
out a new version (with `auto_upgrade: false`).
"""

from __future__ import annotations

import json as _json
from typing import Any

import typer

from crisis_mas.cli.common import handles_errors, out_console

app = typer.Typer(help="The store's schema: revision and migrations.", no_args_is_help=True)


def _missing_file(cfg: Any) -> str | None:
    """The SQLite file of the store when it does not exist yet (None otherwise)."""
    from crisis_mas.store.engine import resolve_url, sqlite_file

    path = sqlite_file(resolve_url(cfg.store))
    return str(path) if path is not None and not path.is_file() else None


def _show(rev: Any, as_json: bool, before: Any = None) -> None:
    body = {**rev.model_dump(), "up_to_date": rev.up_to_date}
    if before is not None:
        body["from"] = before.revision
    if as_json:
        print(_json.dumps(body))
        return
    state = "up to date" if rev.up_to_date else f"behind (head {rev.head})"
    legacy = " (a first-layout run store, not yet migrated)" if rev.legacy else ""
    moved = ""
    if before is not None:
        moved = (
            " (no change)"
            if before.revision == rev.revision
            else (f" (upgraded from {before.revision or 'an empty or first-layout store'})")
        )
    out_console.print(
        f"{rev.url}: revision {rev.revision or 'none'}{legacy}, {state}{moved}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("current")
@handles_errors
def current(
    json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """Show the store's URL and schema revision (nothing is changed or created)."""
    from crisis_mas.config import load_config
    from crisis_mas.store import open_store
    from crisis_mas.store.migrate import Revision, head

    cfg = load_config(config)
    missing = _missing_file(cfg)
    if missing is not None:
        _show(Revision(url=f"sqlite:///{missing}", revision=None, head=head()), json)
        return
    _show(open_store(cfg.store, migrate_schema=False).revision(), json)


@app.command("upgrade")
@handles_errors
def upgrade(
    json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """Apply pending migrations (creates the store if needed; safe beside running processes)."""
    from crisis_mas.config import load_config
    from crisis_mas.store import open_store

    before, after = open_store(load_config(config).store, migrate_schema=False).upgrade()
    _show(after, json, before)
