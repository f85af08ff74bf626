"""`crisis-mas runs list|show`: the local run store, the same history the HTTP API serves."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from crisis_mas.cli.common import handles_errors, out_console
from crisis_mas.errors import InputError

app = typer.Typer(help="Browse stored runs (SQLite run store).", no_args_is_help=True)


@app.command("list")
@handles_errors
def list_runs(
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=1000),
    scenario: str | None = typer.Option(None, "--scenario", help="Only runs of this scenario id"),
    as_json: bool = typer.Option(False, "--json"),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """List recent runs, newest first."""
    from crisis_mas.config import load_config
    from crisis_mas.store import open_store

    rows = open_store(load_config(config).store).runs.list(limit, scenario)
    if as_json:
        print(json.dumps([r.model_dump() for r in rows], ensure_ascii=False))
        return
    t = Table()
    # Whole run ids and times (never truncated: they are what `runs show` takes); the rest wraps.
    for col in ("run id", "created", "scenario", "type", "recommended", "experts"):
        t.add_column(col, no_wrap=col in ("run id", "created"), overflow="fold")
    for r in rows:
        t.add_row(
            r.run_id,
            r.created_at[:19].replace("T", " "),
            r.scenario_id,
            r.scenario_type,
            r.recommended or "—",
            ",".join(r.experts),
        )
    out_console.print(t)


@app.command("show")
@handles_errors
def show_run(
    run_id: str,
    as_json: bool = typer.Option(False, "--json"),
    lang: str = typer.Option("en", "--lang", help="Report language: en or el (Greek)"),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Also write report.json/.md/.html to this folder"
    ),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """Show one stored run's report as Markdown (or JSON); --out writes its report files."""
    from crisis_mas.config import load_config
    from crisis_mas.report.markdown import to_markdown
    from crisis_mas.report.records import report_from
    from crisis_mas.store import open_store

    report = report_from(open_store(load_config(config).store).runs.get(run_id))
    if report is None:
        raise InputError(f"no run with id '{run_id}' (see `crisis-mas runs list`)")
    if out is not None:
        from crisis_mas.cli.run import write_reports

        write_reports(report, out, lang)
    if as_json:
        print(report.model_dump_json(indent=2))
    else:
        out_console.print(to_markdown(report, lang), markup=False, highlight=False)
