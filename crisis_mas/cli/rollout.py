"""`crisis-mas adapters register|activate|canary|shadow|status|promote|rollback`: the adapter
registry and safe rollout of a new expert adapter (the lead mounts these on the adapters app)."""

from __future__ import annotations

import json as _json

import typer
from rich.table import Table

from crisis_mas.cli.common import handles_errors, out_console


def _registry(config: str | None):  # noqa: ANN202 - Registry, imported lazily
    from crisis_mas.config import load_config
    from crisis_mas.rollout.registry import Registry

    cfg = load_config(config)
    return Registry(cfg.store, cfg.rollout)


@handles_errors
def adapters_register(
    path: str = typer.Argument(..., help="Adapter directory (with crisis_mas_adapter.json)"),
    activate: bool = typer.Option(False, "--activate", help="Make it the serving version now"),
    json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """Register an adapter directory as a new version of its expert."""
    reg = _registry(config)
    v = reg.register_dir(path)
    if activate:
        reg.activate(v.expert, v.version)
    if json:
        print(_json.dumps(v.model_dump(), ensure_ascii=False))
        return
    out_console.print(f"{v.expert} v{v.version} ({v.data_sha256[:12]}) {v.path}", highlight=False)


@handles_errors
def adapters_start(
    expert: str = typer.Argument(...),
    version: int = typer.Argument(..., help="Candidate version"),
    mode: str = typer.Option("shadow", "--mode", help="shadow or canary"),
    fraction: float | None = typer.Option(None, "--fraction", min=0.001, max=0.999),
    json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """Start a candidate beside the incumbent (shadow: never used in decisions; canary: x%)."""
    from crisis_mas.errors import InputError

    if mode not in ("shadow", "canary"):
        raise InputError(f"--mode must be shadow or canary, not '{mode}'")
    r = _registry(config).start(expert, version, mode, fraction)  # type: ignore[arg-type]
    if json:
        print(_json.dumps(r.model_dump(), ensure_ascii=False))
        return
    share = f" {r.fraction:.0%} of runs" if r.mode == "canary" else ""
    out_console.print(f"{expert}: v{r.candidate} in {r.mode}{share} beside v{r.incumbent}")


@handles_errors
def adapters_status(
    json: bool = typer.Option(False, "--json"),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """Versions, rollouts and per-arm statistics with the rollback check."""
    reg = _registry(config)
    statuses = [s for s in (reg.status(r.expert) for r in reg.rollouts()) if s is not None]
    if json:
        print(
            _json.dumps(
                {
                    "versions": [v.model_dump() for v in reg.versions()],
                    "rollouts": [s.model_dump() for s in statuses],
                }
            )
        )
        return
    t = Table(title="Adapter rollouts")
    for col in ("expert", "active", "candidate", "mode", "n inc/cand", "errors", "hazmat", "check"):
        t.add_column(col)
    for s in statuses:
        r = s.rollout
        t.add_row(
            r.expert,
            f"v{r.incumbent}" if r.incumbent else "—",
            f"v{r.candidate}" if r.candidate else "—",
            r.mode + (f" {r.fraction:.0%}" if r.mode == "canary" else ""),
            f"{s.incumbent.n}/{s.candidate.n}",
            f"{s.incumbent.error_rate:.1%}/{s.candidate.error_rate:.1%}",
            f"{s.incumbent.hazmat_rate:.1%}/{s.candidate.hazmat_rate:.1%}",
            f"{s.check.action}: {'; '.join(s.check.reasons)}",
        )
    out_console.print(t)


@handles_errors
def adapters_promote(
    expert: str = typer.Argument(...),
    force: bool = typer.Option(False, "--force", help="Promote even if a gate fails"),
    json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """Promote the candidate if every gate passes; otherwise list what blocks it (exit 1)."""
    v = _registry(config).promote(expert, force)
    if json:
        print(_json.dumps(v.model_dump(), ensure_ascii=False))
    else:
        out_console.print(
            f"{expert}: {v.action}: " + "; ".join(v.reasons), highlight=False, soft_wrap=True
        )
    if v.action != "promote":
        raise typer.Exit(1)


@handles_errors
def adapters_rollback(
    expert: str = typer.Argument(...),
    reason: str = typer.Option("manual rollback", "--reason"),
    json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """Stop the candidate now; the incumbent serves every run."""
    r = _registry(config).rollback(expert, reason)
    if json:
        print(_json.dumps(r.model_dump(), ensure_ascii=False))
        return
    out_console.print(f"{expert}: rolled back; v{r.incumbent} serves every run")


@handles_errors
def adapters_attach_eval(
    expert: str = typer.Argument(...),
    version: int = typer.Argument(..., help="Candidate version the eval was run with"),
    eval_id: str = typer.Argument(..., help="Stored eval run of the candidate"),
    against: str = typer.Option(..., "--against", help="Stored eval run of the incumbent"),
    json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """Attach a paired eval (candidate vs incumbent) to a version: promotion reads it."""
    from crisis_mas.config import load_config
    from crisis_mas.errors import InputError
    from crisis_mas.evals.compare import compare_runs
    from crisis_mas.evals.results import EvalRun
    from crisis_mas.store import open_store

    store = open_store(load_config(config).store).evals
    cand, base = EvalRun.from_record(store.get(eval_id)), EvalRun.from_record(store.get(against))
    if cand is None or base is None:
        raise InputError(f"no stored eval run '{eval_id if cand is None else against}'")
    cmp = compare_runs(base, cand)
    reg = _registry(config)
    reg.attach_eval(expert, version, eval_id, cand.metrics.model_dump())
    reg.attach_eval(expert, version, "comparison", cmp.model_dump())
    if json:
        print(_json.dumps(cmp.model_dump(), ensure_ascii=False))
        return
    out_console.print(f"{expert} v{version}: {cmp.verdict}", highlight=False, soft_wrap=True)
