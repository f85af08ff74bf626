"""`crisis-mas run SCENARIO`: the experts assess a scenario in parallel; the coordinator decides.

The terminal shows live per-expert progress and then the decision in plain words; engine logs
(vLLM, Ray, transformers) go to `engine.log` in the run's folder unless `--verbose`. Each run
writes `report.json`, `report.md` and `report.html` to its own folder, `out/<run_id>/` by default
(`out/latest` points at the newest).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from crisis_mas.cli.common import (
    EngineLog,
    err_console,
    fail,
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


def run_dir(out: Path | None, run_id: str) -> Path:
    """Where a run's files go: `--out` as given, else `out/<run_id>/`."""
    return out if out is not None else Path("out") / run_id


def write_reports(report: Any, folder: Path, lang: str) -> list[Path]:
    """report.json, report.md and report.html in `folder`; `out/latest` follows the newest run
    written under `out/`."""
    from crisis_mas.report.html import to_html
    from crisis_mas.report.markdown import to_markdown

    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "report.json": report.model_dump_json(indent=2),
        "report.md": to_markdown(report, lang),
        "report.html": to_html(report, lang),
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    if folder.parent == Path("out") and folder.name == report.run_id:
        latest = folder.parent / "latest"
        with contextlib.suppress(OSError):
            if latest.is_symlink() or not latest.exists():
                latest.unlink(missing_ok=True)
                latest.symlink_to(folder.name, target_is_directory=True)
    return [folder / n for n in files]


@handles_errors
def run(
    scenario: str = typer.Argument(
        ..., help="Scenario file (.json/.yaml) or bundled name, e.g. evia_wildfire"
    ),
    experts: str | None = typer.Option(None, "--experts", "-e", help="Comma-separated expert ids"),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Folder for report.json/.md/.html and engine.log (default: out/<run_id>/)",
    ),
    lang: str = typer.Option("en", "--lang", help="Report language: en or el (Greek)"),
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
    from crisis_mas.assess import new_run_id
    from crisis_mas.assess.inputs import check_size
    from crisis_mas.config import load_config
    from crisis_mas.experts.profiles import get_profiles
    from crisis_mas.experts.selection import select_experts
    from crisis_mas.pool.embedded import offline_by_default
    from crisis_mas.report.i18n import strings
    from crisis_mas.runtime import persist_run
    from crisis_mas.scenario import load_scenario

    strings(lang)  # an unknown --lang fails here, before any model is loaded
    quiet_engines(verbose)
    stop_cleanly_on_sigterm()
    cfg = load_config(config)
    offline_by_default(cfg.model.base)
    scen = load_scenario(resolve_scenario_path(scenario))
    check_size(cfg, scen)  # an oversized scenario exits 2 here, before any model or index loads
    expert_ids = _split_experts(experts)
    if expert_ids:
        get_profiles(expert_ids)  # unknown ids fail here, before any model is loaded
    names = {a.id: a.name for a in scen.available_actions}

    shadow: _Shadow | None = None
    try:
        if server:  # the server runs any shadow rollout itself
            report = _run_remote(server, scen, expert_ids, names, as_json)
            folder = run_dir(out, report.run_id)
        else:
            run_id = new_run_id()
            folder = run_dir(out, run_id)
            selected = [s.expert_id for s in select_experts(scen, expert_ids or cfg.agents.experts)]
            log = EngineLog(None if verbose else folder / "engine.log", stdout_to_stderr=as_json)
            try:
                with log:
                    report, shadow = _run_local(cfg, scen, selected, run_id, log, names, as_json)
            except BaseException:
                if log.path is not None:
                    err_console.print(f"[dim]engine log ({log.path}):\n{log.tail()}[/]")
                raise
            persist_run(cfg, scen, report)

        files = write_reports(report, folder, lang)
        if as_json:
            print(json.dumps(report.model_dump(mode="json"), ensure_ascii=False), flush=True)
        if report.status == "failed":  # no expert answered: stored as failed, one line, exit 1
            fail(
                f"no expert answered: {report.status_reason} "
                f"(run {report.run_id} stored as failed; {files[1]})",
                1,
            )
        if not as_json:
            summary(report, lang)
            out_console.print(
                f"\nreports: {files[1]}  ·  {files[2]}\nrun id: [bold]{report.run_id}[/]",
                highlight=False,
            )
        if shadow is not None:  # after the report is out: adds wall time, never changes it
            with EngineLog(None if verbose else folder / "engine.log", as_json):
                shadow.run(scen, report)
    finally:
        if shadow is not None:
            with EngineLog(None if verbose else folder / "engine.log", as_json):
                shadow.assessor.close()


class _Shadow:
    """A shadow rollout still to run after the report is written (keeps the engine open)."""

    def __init__(self, assessor: Any, candidates: dict[str, tuple[int, str]]):
        self.assessor, self.candidates = assessor, candidates

    def run(self, scen: Any, report: Any) -> None:
        """Run the candidates beside the served report; print one line per shadowed expert."""
        from crisis_mas.rollout.live import run_shadows

        names = ", ".join(f"{e} v{v}" for e, (v, _) in self.candidates.items())
        err_console.print(f"shadow rollout: running {names} (not used in the decision)")
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


def _run_remote(
    server: str, scen: Any, experts: list[str] | None, names: dict[str, str], quiet: bool
) -> Any:
    """The assessment on a crisis-mas server, with its live progress (server-sent events)."""
    from crisis_mas.assess import ProgressEvent
    from crisis_mas.cli.progress import LiveProgress
    from crisis_mas.service.client import CrisisMasClient

    client = CrisisMasClient(server)
    if quiet:
        return client.assess(scen, experts)
    with LiveProgress(err_console, names) as live:
        live.note(f"asking {server}")

        def on_event(name: str, data: dict[str, Any]) -> None:
            if name == "progress":
                live.on_event(ProgressEvent.model_validate(data))
            elif name == "status":
                live.note(f"{data.get('status')} on {server}")

        return client.assess_stream(scen, experts, on_event)


def _run_local(cfg, scen, selected, run_id, log, names, quiet):  # noqa: ANN001, ANN202, PLR0913
    """The report, and the shadow work left to do (None when no shadow rollout applies)."""
    from crisis_mas.cli.progress import LiveProgress
    from crisis_mas.experts.adapters import ensure_adapters
    from crisis_mas.rollout.live import shadow_candidates
    from crisis_mas.runtime import serving_assessor

    console = log.console if not quiet else None
    with LiveProgress(console, names) if console else contextlib.nullcontext() as live:

        def on_train(expert: str):  # noqa: ANN202
            def step(i: int, n: int, loss: float) -> None:
                if live:
                    live.note(f"training the LoRA adapter for {expert}: step {i}/{n}")

            return step

        if cfg.model.use_adapters:
            ensure_adapters(cfg.model, selected, on_train)
        on_event = live.on_event if live else None
        assessor = serving_assessor(cfg, experts=selected, on_event=on_event)
        shadow = None
        try:
            # No explicit start: a fully cached re-run never loads the model.
            report = assessor.run(scen, selected, run_id=run_id)
            found = shadow_candidates(cfg, report, assessor.pool.info)
            if found:
                shadow = _Shadow(assessor, found)
            return report, shadow
        finally:
            if shadow is None:
                stage = live.stage if live else ""
                if live:
                    live.note("shutting down the engine")
                assessor.close()
                if live:
                    live.note(stage)


def summary(report: Any, lang: str = "en") -> None:
    """The decision in plain words (the report's first page, short) and the ranking by name."""
    from crisis_mas.report.brief import build_brief
    from crisis_mas.report.i18n import short_of, strings

    b, t = build_brief(report, lang), strings(lang)
    out_console.print(f"\n[bold]{t['recommended']}:[/] [bold green]{b.recommended_name}[/]")
    for sentence in b.why:
        out_console.print(f"  {sentence}", highlight=False)
    colour = {"high": "green", "moderate": "yellow", "low": "red"}[b.confidence_level]
    out_console.print(f"[bold]{t['confidence']}:[/] [{colour}]{b.confidence}[/]", highlight=False)
    for n in b.notices:
        out_console.print(f"[yellow]{t['notice']}:[/] {n}", highlight=False)
    table = Table(title=t["ranking"], title_justify="left", box=None, header_style="dim")
    for col in ("#", t["col_alternative"], t["col_score"], t["col_first"]):
        table.add_column(col, justify="right" if col in ("#", t["col_score"]) else "left")
    for i, a in enumerate(report.decision.ranking, 1):
        table.add_row(
            str(i),
            a.name,
            f"{a.score:.3f}",
            ", ".join(short_of(e, lang) for e in a.first_choice_of) or "—",
            style="bold green" if i == 1 else None,
        )
    out_console.print(table)
    for line in b.dissent[:3]:
        out_console.print(f"[bold]{t['dissent']}:[/] {line}", highlight=False)
    if b.unverified:
        out_console.print(f"[bold]{t['unverified']}:[/]")
        for line in b.unverified[:6]:
            out_console.print(f"  [yellow]•[/] {line}", highlight=False)
