"""The `crisis-mas` command: one Typer app with a sub-command per concern."""

from __future__ import annotations

import typer

from crisis_mas import __version__
from crisis_mas.cli import adapters, cache, db, experts, guard, hazmat, health, runs, scenarios
from crisis_mas.cli.drift import drift_check
from crisis_mas.cli.eval import eval as eval_cmd
from crisis_mas.cli.feedback import feedback
from crisis_mas.cli.rag import app as rag_app
from crisis_mas.cli.run import run
from crisis_mas.cli.serve import serve

app = typer.Typer(
    help="crisis-mas: Greek commander agents assess a crisis in parallel on a local LoRA "
    "model pool.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # --install-completion / --show-completion for bash, zsh, fish and PowerShell.
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        print(f"crisis-mas {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Print the version"
    ),
) -> None:
    """crisis-mas: Greek commander agents assess a crisis in parallel on a local LoRA model pool."""


app.command("run")(run)
app.add_typer(scenarios.app, name="scenarios")
app.add_typer(runs.app, name="runs")
app.add_typer(adapters.app, name="adapters")
app.add_typer(experts.app, name="experts")
app.add_typer(rag_app, name="rag")
app.add_typer(cache.app, name="cache")
app.add_typer(hazmat.app, name="hazmat")
app.add_typer(guard.app, name="guard")
app.add_typer(db.app, name="db")
app.command("eval")(eval_cmd)
app.command("feedback")(feedback)
drift_app = typer.Typer(help="Data and concept drift checks.", no_args_is_help=True)
drift_app.command("check")(drift_check)
app.add_typer(drift_app, name="drift")
app.command("health")(health.health)
app.command("serve")(serve)

if __name__ == "__main__":
    app()
