"""`crisis-mas scenarios list|validate|schema`: the bundled scenarios, a checker that names every
bad field (and warns on fields the format does not define), and the format's JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from crisis_mas.cli.common import err_console, handles_errors, out_console, resolve_scenario_path

app = typer.Typer(
    help="Bundled scenarios, validation and the scenario JSON Schema.", no_args_is_help=True
)


@app.command("list")
@handles_errors
def list_scenarios(as_json: bool = typer.Option(False, "--json", help="JSON on stdout")) -> None:
    """The bundled scenarios (run one with `crisis-mas run NAME`)."""
    from crisis_mas.scenario_validation import bundled

    rows = bundled()
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    t = Table()
    for col in ("name", "type", "alts", "severity"):
        t.add_column(col, no_wrap=True, justify="right" if col in ("alts", "severity") else "left")
    t.add_column("title", min_width=24)
    for r in rows:
        t.add_row(
            r["name"],
            r["type"],
            str(r["alternatives"]),
            f"{r['severity']:.2f}",
            r["title"],
        )
    out_console.print(t)


@app.command("validate")
@handles_errors
def validate(
    files: list[str] = typer.Argument(..., help="Scenario files (.json/.yaml) or bundled names"),
    as_json: bool = typer.Option(False, "--json", help="Results as JSON on stdout"),
    strict: bool = typer.Option(False, "--strict", help="Unknown fields fail too"),
) -> None:
    """Check scenarios: every bad field by its path, and warnings for undefined fields.
    Exit 2 if any is invalid."""
    from crisis_mas.scenario_validation import check_file

    results = {}
    for name in files:
        path = resolve_scenario_path(name)
        results[str(path)] = check_file(path)
    bad = [p for p, r in results.items() if not r.valid or (strict and r.warnings)]
    if as_json:
        print(
            json.dumps(
                [{"file": p, **r.model_dump(exclude={"scenario"})} for p, r in results.items()],
                ensure_ascii=False,
            )
        )
    else:
        for path, r in results.items():
            mark = "[green]ok[/]" if r.valid else "[red]invalid[/]"
            out_console.print(f"{path}: {mark}" + (f" ({r.scenario_id})" if r.scenario_id else ""))
            for e in r.errors:
                out_console.print(
                    f"  [red]error[/]   {e.field}: {e.message}", highlight=False, soft_wrap=True
                )
            for w in r.warnings:
                out_console.print(
                    f"  [yellow]warning[/] {w.field}: {w.message}", highlight=False, soft_wrap=True
                )
    if bad:
        if not as_json:
            err_console.print(f"[bold red]error:[/] {len(bad)} of {len(results)} invalid")
        raise typer.Exit(2)


@app.command("schema")
@handles_errors
def schema(
    out: Path | None = typer.Option(None, "--out", "-o", help="Write to this file, not stdout"),
) -> None:
    """The JSON Schema of the scenario format (for editors and other tools)."""
    from crisis_mas.scenario_validation import scenario_schema

    text = json.dumps(scenario_schema(), indent=2, ensure_ascii=False)
    if out is None:
        print(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        err_console.print(f"wrote {out}")
