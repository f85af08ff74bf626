"""`crisis-mas experts list|select`: the expert roster and who a scenario calls for."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from crisis_mas.cli.common import handles_errors, out_console, resolve_scenario_path

app = typer.Typer(help="The expert roster.", no_args_is_help=True)


@app.command("list")
@handles_errors
def list_experts(as_json: bool = typer.Option(False, "--json")) -> None:
    """All expert profiles."""
    from crisis_mas.experts.profiles import load_profiles

    profiles = load_profiles()
    if as_json:
        print(json.dumps([p.model_dump() for p in profiles.values()], ensure_ascii=False))
        return
    t = Table()
    for col in ("id", "persona", "organisation", "crisis types", "risk tolerance"):
        t.add_column(col)
    for p in profiles.values():
        t.add_row(
            p.id,
            p.persona_name,
            p.organisation,
            ", ".join(p.crisis_types),
            f"{p.risk_tolerance:.2f}",
        )
    out_console.print(t)


@app.command("select")
@handles_errors
def select(
    scenario: str,
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
    config: str | None = typer.Option(None, "--config", "-c", help="crisis-mas config file"),
) -> None:
    """Which experts a scenario calls for (the config's agents.experts, if set), and why."""
    from crisis_mas.config import load_config
    from crisis_mas.experts.selection import select_experts
    from crisis_mas.scenario import load_scenario

    chosen = load_config(config).agents.experts
    found = select_experts(load_scenario(resolve_scenario_path(scenario)), chosen)
    if as_json:
        print(json.dumps([s.model_dump() for s in found], ensure_ascii=False))
        return
    for s in found:
        out_console.print(f"{s.expert_id:18} relevance {s.relevance:.2f}  {s.reason}")


def _reliability_command() -> None:
    from crisis_mas.cli.feedback import experts_reliability

    app.command("reliability")(experts_reliability)


_reliability_command()
