"""`crisis-mas adapters train|list`: per-expert LoRA adapters on the configured base model."""

from __future__ import annotations

import json

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from crisis_mas.cli.common import err_console, handles_errors, out_console, quiet_engines
from crisis_mas.pool.training import TrainingConfig

app = typer.Typer(help="Train and list per-expert LoRA adapters.", no_args_is_help=True)


@app.command("train")
@handles_errors
def train(
    expert: list[str] = typer.Option(
        ..., "--expert", "-e", help="Expert id (repeatable), or 'all'"
    ),
    steps: int = typer.Option(TrainingConfig().steps, "--steps", min=1, max=10000),
    lr: float = typer.Option(2e-3, "--lr", min=1e-6, max=1.0),
    rank: int = typer.Option(8, "--rank", min=1, max=256),
    as_json: bool = typer.Option(False, "--json", help="Print the trained adapters as JSON"),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """Train a real peft LoRA adapter for each expert on its chat JSONL training set."""
    from crisis_mas.config import load_config
    from crisis_mas.experts.adapters import train_expert, training_file
    from crisis_mas.experts.profiles import get_profiles, load_profiles
    from crisis_mas.pool.embedded import offline_by_default

    quiet_engines(False)
    cfg = load_config(config)
    offline_by_default(cfg.model.base)
    ids = list(load_profiles()) if expert == ["all"] else [p.id for p in get_profiles(expert)]
    ids = [e for e in ids if training_file(e).is_file() or expert != ["all"]]
    trained = []
    tc = TrainingConfig(steps=steps, learning_rate=lr, r=rank, alpha=2 * rank)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
    ) as progress:
        for e in ids:
            task = progress.add_task(f"{e}", total=steps)

            def step(i: int, n: int, loss: float, task: int = task, e: str = e) -> None:
                progress.update(task, completed=i, description=f"{e} loss {loss:.3f}")

            info = train_expert(cfg.model, e, tc, progress=step)
            trained.append(info)
            progress.console.print(
                f"{e}: saved {info.path} (final loss {info.final_loss}, {info.train_seconds}s)"
            )
    if as_json:
        print(json.dumps([i.model_dump(mode="json") for i in trained], ensure_ascii=False))


@app.command("list")
@handles_errors
def list_cmd(
    as_json: bool = typer.Option(False, "--json"),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """Show the adapters that exist for the configured base: expert, data, loss, staleness."""
    from crisis_mas.config import load_config
    from crisis_mas.pool.adapters import list_adapters

    infos = list_adapters(load_config(config).model)
    if as_json:
        print(json.dumps([i.model_dump() for i in infos], ensure_ascii=False))
        return
    t = Table()
    for col in (
        "expert",
        "base",
        "data",
        "data sha256",
        "steps",
        "rank",
        "loss",
        "trained",
        "status",
    ):
        t.add_column(col)
    for i in infos:
        t.add_row(
            i.expert,
            i.base,
            i.data_file,
            i.data_sha256[:12],
            str(i.training.steps),
            str(i.training.r),
            f"{i.final_loss:.3f}",
            i.trained_at,
            "[yellow]stale[/]" if i.stale else "ok",
        )
    out_console.print(t)
    if not infos:
        err_console.print("no adapters yet: `crisis-mas adapters train --expert all`")


def _rollout_commands() -> None:
    """Versioned adapter rollout (shadow / canary / promote / rollback): docs/evaluation.md."""
    from crisis_mas.cli import rollout

    app.command("register")(rollout.adapters_register)
    app.command("start")(rollout.adapters_start)
    app.command("status")(rollout.adapters_status)
    app.command("promote")(rollout.adapters_promote)
    app.command("rollback")(rollout.adapters_rollback)
    app.command("attach-eval")(rollout.adapters_attach_eval)


_rollout_commands()
