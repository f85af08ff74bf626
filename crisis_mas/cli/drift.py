"""`crisis-mas drift check`: data drift of recent inputs and concept drift of the eval suite's
accuracy, raised as ops alerts."""

from __future__ import annotations

import json as _json

import typer

from crisis_mas.cli.common import err_console, handles_errors, out_console


@handles_errors
def drift_check(
    suite: str = typer.Option("bundled", "--suite", help="Eval suite for concept drift"),
    rerun: bool = typer.Option(
        False, "--rerun", help="Re-run the suite now (real model) instead of using its latest run"
    ),
    window: int | None = typer.Option(None, "--window", min=1, help="Recent live runs to embed"),
    fail_on_drift: bool = typer.Option(False, "--fail-on-drift", help="Exit 1 when drifted"),
    json: bool = typer.Option(False, "--json"),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """Check data and concept drift now; drifted checks raise ops alerts."""
    from crisis_mas.config import load_config
    from crisis_mas.evals.labels import resolve_suite
    from crisis_mas.evals.results import EvalRun
    from crisis_mas.monitor.drift import (
        concept_drift,
        data_drift,
        raise_alerts,
        recent_texts,
        reference_texts,
    )
    from crisis_mas.store import open_store

    cfg = load_config(config)
    dcfg = cfg.drift
    if window is not None:
        dcfg = dcfg.model_copy(update={"window": window})
    results = [data_drift(recent_texts(cfg.store, dcfg.window), reference_texts(), cfg=dcfg)]
    store = open_store(cfg.store).evals
    name = resolve_suite(suite).name
    reference = EvalRun.from_record(store.reference(name))
    if rerun:
        from crisis_mas.evals.harness import run_suite

        fresh = run_suite(suite, cfg, "drift-check", on_progress=lambda s: err_console.print(s))
        store.save(fresh.to_record())
    else:
        latest = [
            r
            for r in store.list(name, limit=10)
            if reference is None or r.eval_id != reference.eval_id
        ]
        fresh = EvalRun.from_record(latest[0]) if latest else None
    if fresh is not None:
        results.append(concept_drift(fresh, reference, dcfg))
    alerts = raise_alerts(results, cfg, dcfg)
    if json:
        print(
            _json.dumps(
                {
                    "results": [r.model_dump() for r in results],
                    "alerts": [a.to_dict() for a in alerts],
                }
            )
        )
    else:
        for r in results:
            tag = "[bold red]DRIFT[/]" if r.drifted else "[green]ok[/]"
            out_console.print(f"{tag} {r.message}", highlight=False, soft_wrap=True)
        if fresh is None:
            out_console.print("concept drift: no eval run of this suite yet (crisis-mas eval)")
    if fail_on_drift and any(r.drifted for r in results):
        raise typer.Exit(1)
