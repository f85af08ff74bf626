"""`crisis-mas run SCENARIO`: the experts assess a scenario in parallel; the coordinator decides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from crisis_mas.cli.common import (
    StdoutToStderr,
    err_console,
    handles_errors,
    out_console,
    quiet_engines,
    resolve_scenario_path,
    stop_cleanly_on_sigterm,
)
from crisis_mas.errors import InputError


def _split_experts(value: str | None) -> list[str] | None:
    if value is None:
        return None
    ids = [e.strip() for e in value.split(",") if e.strip()]
    if not ids:
        raise InputError("--experts: give at least one expert id, e.g. --experts fire,police")
    return ids


@handles_errors
def run(
    scenario: str = typer.Argument(
        ..., help="Scenario file (.json/.yaml) or bundled name, e.g. evia_wildfire"
    ),
    experts: str | None = typer.Option(None, "--experts", "-e", help="Comma-separated expert ids"),
    out: Path = typer.Option(
        Path("out"), "--out", "-o", help="Directory for report.json and report.md"
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the report JSON on stdout and nothing else"
    ),
    config: Path | None = typer.Option(None, "--config", "-c", help="AppConfig YAML"),
    server: str | None = typer.Option(
        None, "--server", help="Use a crisis-mas HTTP server instead of a local engine"
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show engine logs"),
) -> None:
    """Run a scenario: select experts, assess in parallel on the model pool, rank and explain."""
    from crisis_mas.config import load_config
    from crisis_mas.experts.profiles import get_profiles
    from crisis_mas.experts.selection import select_experts
    from crisis_mas.report.markdown import to_markdown
    from crisis_mas.runtime import persist_run
    from crisis_mas.scenario import load_scenario

    quiet_engines(verbose)
    stop_cleanly_on_sigterm()
    cfg = load_config(config)
    scen = load_scenario(resolve_scenario_path(scenario))
    expert_ids = _split_experts(experts)
    if expert_ids:
        get_profiles(expert_ids)  # unknown ids fail here, before any model is loaded

    shadow: _Shadow | None = None
    try:
        if server:  # the server runs any shadow rollout itself
            from crisis_mas.service.client import CrisisMasClient

            with err_console.status(f"asking {server} ..."):
                report = CrisisMasClient(server).assess(scen, expert_ids)
        else:
            selected = [s.expert_id for s in select_experts(scen, expert_ids or cfg.agents.experts)]
            with StdoutToStderr() if as_json else _nullctx():
                report, shadow = _run_local(cfg, scen, selected)
            persist_run(cfg, scen, report)

        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(report.model_dump_json(indent=2))
        (out / "report.md").write_text(to_markdown(report))
        if as_json:
            print(json.dumps(report.model_dump(mode="json"), ensure_ascii=False), flush=True)
        else:
            _summary(report)
            out_console.print(f"\nreport: {out / 'report.md'}  ·  run id: [bold]{report.run_id}[/]")
        if shadow is not None:  # after the report is out: adds wall time, never changes it
            with StdoutToStderr() if as_json else _nullctx():
                shadow.run(scen, report)
    finally:
        if shadow is not None:
            shadow.assessor.close()


class _nullctx:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _Shadow:
    """A shadow rollout still to run after the report is written (keeps the engine open)."""

    def __init__(self, assessor: Any, candidates: dict[str, tuple[int, str]]):
        self.assessor, self.candidates = assessor, candidates

    def run(self, scen: Any, report: Any) -> None:
        """Run the candidates beside the served report; print one line per shadowed expert."""
        from crisis_mas.rollout.live import run_shadows

        names = ", ".join(f"{e} v{v}" for e, (v, _) in self.candidates.items())
        with err_console.status(f"shadow rollout: running {names} (not used in the decision)"):
            got = run_shadows(self.assessor, scen, report, self.candidates)
        if got is None:
            err_console.print(f"[yellow]shadow:[/] {names} did not run (see the log)")
            return
        served = {a.expert_id: a for a in report.assessments}
        for b in got.assessments:
            a = served[b.expert_id]
            err_console.print(
                f"shadow {b.adapter}: {b.status}, first choice {b.recommended or '—'} "
                f"(served {a.adapter}: {a.recommended or '—'}); samples recorded",
                highlight=False,
            )


def _run_local(cfg, scen, selected):  # noqa: ANN001, ANN202 - typed by its callers
    """The report, and the shadow work left to do (None when no shadow rollout applies)."""
    from crisis_mas.assess import ProgressEvent
    from crisis_mas.experts.adapters import ensure_adapters
    from crisis_mas.rollout.live import shadow_candidates
    from crisis_mas.runtime import serving_assessor

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("preparing adapters", total=None)

        def on_train(expert: str):  # noqa: ANN202
            progress.update(task, description=f"training LoRA adapter for {expert}", completed=0)

            def step(i: int, n: int, loss: float) -> None:
                progress.update(
                    task, total=n, completed=i, description=f"training {expert} (loss {loss:.3f})"
                )

            return step

        if cfg.model.use_adapters:
            ensure_adapters(cfg.model, selected, on_train)

        def on_event(event: ProgressEvent) -> None:
            if event.expert is not None:
                return
            stage = event.stage
            if stage == "generating":  # the engine starts lazily on the first cache miss
                stage = f"generating on {cfg.model.backend} (the engine loads on first use)"
            progress.update(task, description=stage, total=None)

        assessor = serving_assessor(cfg, experts=selected, on_event=on_event)
        shadow = None
        try:
            # No explicit start: a fully cached re-run never loads the model.
            report = assessor.run(scen, selected)
            found = shadow_candidates(cfg, report, assessor.pool.info)
            if found:
                shadow = _Shadow(assessor, found)
            return report, shadow
        finally:
            if shadow is None:
                progress.update(task, description="shutting down engine")
                assessor.close()


def _summary(report) -> None:  # noqa: ANN001
    d = report.decision
    t = Table(title=f"{report.scenario_name} — decision", title_justify="left")
    for col in ("rank", "alternative", "score", "belief", "TOPSIS", "first choice of"):
        t.add_column(
            col, justify="right" if col in ("rank", "score", "belief", "TOPSIS") else "left"
        )
    for i, a in enumerate(d.ranking, 1):
        style = "bold green" if i == 1 else None
        t.add_row(
            str(i),
            a.alternative_id,
            f"{a.score:.3f}",
            f"{a.belief:.3f}",
            f"{a.topsis:.3f}",
            ", ".join(a.first_choice_of) or "—",
            style=style,
        )
    out_console.print(t)
    e = Table(title="experts", title_justify="left")
    for col in ("expert", "adapter", "status", "first choice", "confidence", "tokens", "latency"):
        e.add_column(col)
    for a in report.assessments:
        e.add_row(
            a.expert_id,
            a.adapter or "—",
            a.status,
            a.recommended or "—",
            f"{a.confidence:.2f}",
            f"{a.tokens.prompt}+{a.tokens.completion}",
            f"{a.latency_ms / 1000:.1f}s",
        )
    out_console.print(e)
    out_console.print(f"[bold]Recommended:[/] {d.recommended}\n{d.explanation}")
    for w in report.warnings:
        err_console.print(f"[yellow]warning:[/] {w}")
