"""`crisis-mas health [--json] [--alerts]`: component checks and alert rules over recorded calls.

Exit status: 0 healthy, 1 when a component is down or (with --alerts) a critical alert fires.
"""

from __future__ import annotations

import json

import typer
from rich.table import Table

from crisis_mas.cli.common import handles_errors, out_console

_STYLE = {"ok": "green", "down": "bold red", "disabled": "dim", "not built": "yellow"}
_SEVERITY = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


@handles_errors
def health(
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
    alerts: bool = typer.Option(False, "--alerts", help="Also evaluate the alert rules."),
    config: str | None = typer.Option(None, "--config", "-c", help="crisis-mas config file"),
) -> None:
    """Check Redis, the vector index, Langfuse and the event log; optionally evaluate alerts."""
    from crisis_mas.config import load_config
    from crisis_mas.monitor.health import check_health

    cfg = load_config(config)
    report = check_health(cfg)
    fired: list = []
    if alerts:
        from crisis_mas.monitor.alerts import evaluate_alerts

        fired = evaluate_alerts(cfg)
        report["alerts"] = [a.to_dict() for a in fired]
    critical = any(a.severity == "critical" for a in fired)
    if as_json:
        print(json.dumps(report, default=str))
    else:
        _print(report, fired if alerts else None)
    if not report["ok"] or critical:
        raise typer.Exit(1)


def _print(report: dict, fired: list | None) -> None:
    t = Table(title=f"health: {report['status']}")
    for col in ("component", "status", "detail", "ms"):
        t.add_column(col)
    for name, c in report["components"].items():
        style = _STYLE.get(c["status"], "")
        detail = c.get("detail")
        t.add_row(name, f"[{style}]{c['status']}[/]", str(detail)[:110], str(c.get("ms", "")))
    out_console.print(t)
    if fired is None:
        return
    if not fired:
        out_console.print("alerts: none firing")
        return
    a_t = Table(title="alerts")
    for col in ("severity", "rule", "message", "count", "new"):
        a_t.add_column(col)
    for a in fired:
        a_t.add_row(
            f"[{_SEVERITY.get(a.severity, '')}]{a.severity}[/]",
            a.rule,
            a.message,
            str(a.count),
            "yes" if a.notify else "throttled",
        )
    out_console.print(a_t)


app = typer.Typer(add_completion=False)
app.command()(health)

if __name__ == "__main__":
    app()
