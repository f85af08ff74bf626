"""`crisis-mas eval [SUITE] [--config A] [--against B]`: run a labelled suite through the real
Assessor, print the metrics, store the eval run, and compare two configs with a paired test."""

from __future__ import annotations

import json as _json
from pathlib import Path

import typer
from rich.table import Table

from crisis_mas.cli.common import err_console, handles_errors, out_console

METRIC_ROWS = (
    ("schema-valid rate", "schema_valid_rate", "{:.1%}"),
    ("top-1 acceptable", "top1_acceptable_rate", "{:.1%}"),
    ("unacceptable chosen", "unacceptable_chosen_rate", "{:.1%}"),
    ("HAZMAT contradictions", "hazmat_contradiction_rate", "{:.1%}"),
    ("wrong labelled facts", "fact_error_rate", "{:.1%}"),
    ("guard flags", "guard_flags", "{}"),
    ("consensus (mean)", "consensus_mean", "{:.3f}"),
    ("latency p50", "latency_p50_ms", "{:.0f} ms"),
    ("latency p95", "latency_p95_ms", "{:.0f} ms"),
    ("tokens in/out", None, ""),
    ("est. cost", "cost_usd", "${:.4f}"),
)


def _fmt(m: object, key: str | None, fmt: str) -> str:
    if key is None:
        return f"{m.prompt_tokens}/{m.completion_tokens}"  # type: ignore[attr-defined]
    v = getattr(m, key)
    return "—" if v is None else fmt.format(v)


def _run(suite: str, config: str | None, repeats: int = 1):  # noqa: ANN202 - EvalRun, imported lazily
    from crisis_mas.cli.common import quiet_engines
    from crisis_mas.config import load_config
    from crisis_mas.evals.harness import run_suite
    from crisis_mas.store import open_store

    quiet_engines(False)
    cfg = load_config(config)
    label = Path(config).stem if config else "default"
    run = run_suite(
        suite,
        cfg,
        label,
        repeats=repeats,
        on_progress=lambda s: err_console.print(f"[dim]{s}[/]"),
    )
    open_store(cfg.store).evals.save(run.to_record())
    from crisis_mas.evals.labels import load_suite
    from crisis_mas.evals.langfuse_export import export_eval_run

    exported = export_eval_run(run, load_suite(suite), config=cfg)
    if exported:
        err_console.print(f"[dim]exported to Langfuse as experiment run {exported}[/]")
    return run, cfg


def _redecided(eval_id: str, config: str | None):  # noqa: ANN202 - EvalRun, lazily
    """A stored eval run re-decided from its stored reports (`evals.redecide`), stored anew."""
    from crisis_mas.config import load_config
    from crisis_mas.errors import InputError
    from crisis_mas.evals.harness import new_eval_id
    from crisis_mas.evals.redecide import redecide
    from crisis_mas.evals.results import EvalRun
    from crisis_mas.store import open_store

    cfg = load_config(config)
    store = open_store(cfg.store).evals
    base = EvalRun.from_record(store.get(eval_id))
    if base is None:
        raise InputError(f"--redecide: no stored eval run '{eval_id}'")
    run = redecide(base, cfg, new_eval_id())
    store.save(run.to_record())
    return run, cfg


@handles_errors
def eval(  # noqa: A001 - the command is called `eval`
    suite: str = typer.Argument("bundled", help="Suite folder or name under evals/suites/"),
    config: str | None = typer.Option(None, "--config", "-c", help="Config under test (A)"),
    against: str | None = typer.Option(
        None, "--against", help="Baseline (B): a config file, or a stored eval id"
    ),
    json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
    set_reference: bool = typer.Option(
        False, "--set-reference", help="Make this run the suite's reference for concept drift"
    ),
    repeats: int = typer.Option(1, "--repeats", min=1, max=20, help="Runs per scenario"),
    judge: str | None = typer.Option(
        None,
        "--judge",
        help="Also run the pairwise LLM judge with this config's model (needs --against)",
    ),
    redecide: str | None = typer.Option(
        None,
        "--redecide",
        help="Re-decide a stored eval run's reports with the current coordinator (no model calls)",
    ),
) -> None:
    """Evaluate a config on a labelled suite; with --against, a paired comparison and verdict."""
    from crisis_mas.errors import InputError
    from crisis_mas.evals.compare import compare_runs
    from crisis_mas.evals.results import EvalRun
    from crisis_mas.store import open_store

    run, cfg = _redecided(redecide, config) if redecide else _run(suite, config, repeats)
    store = open_store(cfg.store).evals
    if set_reference:
        store.set_reference(run.suite, run.eval_id)
    base = None
    if against:
        if Path(against).is_file():
            base, _ = _run(suite, against, repeats)
        else:
            base = EvalRun.from_record(store.get(against))
            if base is None:
                raise InputError(f"--against: no config file or stored eval run '{against}'")
    cmp = compare_runs(base, run) if base is not None else None
    if judge and base is None:
        raise InputError("--judge compares two configs: give --against too")
    verdicts = _judge(judge, base, run, cfg) if judge and base is not None else None
    if json:
        out = {"eval": {**run.model_dump(), "metrics": run.metrics.model_dump()}}
        if base is not None and cmp is not None:
            out["baseline"] = {**base.model_dump(), "metrics": base.metrics.model_dump()}
            out["comparison"] = cmp.model_dump()
        if verdicts is not None:
            out["judge"] = verdicts.model_dump()
        print(_json.dumps(out, ensure_ascii=False))
        return
    t = Table(title=f"eval {run.eval_id} — suite {run.suite}, {run.metrics.n_runs} runs")
    t.add_column("metric")
    t.add_column(run.config)
    if base is not None:
        t.add_column(f"{base.config} (baseline)")
    for label, key, fmt in METRIC_ROWS:
        row = [label, _fmt(run.metrics, key, fmt)]
        if base is not None:
            row.append(_fmt(base.metrics, key, fmt))
        t.add_row(*row)
    out_console.print(t)
    if run.metrics.counterfactual is not None:
        out_console.print(counterfactual_table(run.metrics.counterfactual))
    for s in run.scores:
        if s.unacceptable_chosen or s.fact_errors:
            why = s.unacceptable_reason or "; ".join(s.fact_errors)
            out_console.print(f"[yellow]{s.scenario_id}[/]: {s.recommended} — {why}")
    if cmp is not None:
        out_console.print(f"[bold]verdict:[/] {cmp.verdict}", highlight=False)
    if verdicts is not None:
        out_console.print(
            f"judge ({run.config} vs {base.config}): {run.config} wins {verdicts.wins_b}, "  # type: ignore[union-attr]
            f"{base.config} wins {verdicts.wins_a}, ties {verdicts.ties} "  # type: ignore[union-attr]
            f"(mean P({run.config} better) {verdicts.mean_p_b:.2f}; both orders, equal length)",
            highlight=False,
        )


def counterfactual_table(c) -> Table:  # noqa: ANN001 - CounterfactualSummary, imported lazily
    """Scenarios and pairs right against chance, the doctrine rules alone, and per expert: its
    beliefs against its doctrine prior (the ablation)."""
    t = Table(title="counterfactual pairs")
    t.add_column("measure")
    t.add_column("result")
    t.add_column("chance")
    t.add_row(
        "scenarios right",
        f"{c.scenarios_right}/{c.n_scenarios} ({c.scenarios_right_rate:.1%})",
        f"{c.chance_scenarios:.1%}",
    )
    t.add_row(
        "pairs both right",
        f"{c.pairs_both_right}/{c.n_pairs} ({c.pairs_both_right_rate:.1%})",
        f"{c.chance_pairs:.1%}",
    )
    if c.doctrine_right_rate is not None:
        t.add_row(
            "doctrine rules alone",
            f"{c.doctrine_right_rate:.1%} (silent on {c.doctrine_silent})",
            "",
        )
    for e, a in c.experts.items():
        t.add_row(
            f"expert {e}: beliefs vs prior",
            f"{a.beliefs_right_rate:.1%} vs {a.prior_right_rate:.1%} (n={a.n})",
            "",
        )
    return t


def _judge(judge_config: str, base, run, cfg):  # noqa: ANN001, ANN202 - lazily imported types
    """Judge the first repeat of every common scenario: A = baseline, B = config under test."""
    from crisis_mas.config import load_config
    from crisis_mas.evals.judge import judge_pairs, summarise
    from crisis_mas.evals.labels import load_suite
    from crisis_mas.pool.factory import build_pool
    from crisis_mas.report.records import report_from
    from crisis_mas.store import open_store

    scenarios = {x.scenario.id: x.scenario for x in load_suite(run.suite)}
    runs = open_store(cfg.store).runs
    a_ids = {s.scenario_id: s.run_id for s in reversed(base.scores)}
    pairs = []
    for s in run.scores:
        if s.scenario_id in a_ids and s.run_id.endswith("-0"):
            ra, rb = report_from(runs.get(a_ids[s.scenario_id])), report_from(runs.get(s.run_id))
            if ra is not None and rb is not None and s.scenario_id in scenarios:
                pairs.append((scenarios[s.scenario_id], ra, rb))
    pool = build_pool(load_config(judge_config).model, [])
    try:
        return summarise(judge_pairs(pool, pairs))
    finally:
        pool.close()
