"""`crisis-mas guard check|eval|train`: the guardrails and the learned injection detector."""

from __future__ import annotations

import json
import sys

import typer
from rich.table import Table

from crisis_mas.cli.common import fail, handles_errors, out_console

app = typer.Typer(
    help="Guardrails: injection, jailbreak, PII, unsafe advice and markup checks.",
    no_args_is_help=True,
)


@app.command("check")
@handles_errors
def check(
    text: str = typer.Argument(..., help="Text to check ('-' reads stdin)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
    mode: str = typer.Option(
        "input",
        "--mode",
        "-m",
        help="input (user text), passage (retrieved text) or output (model answer).",
    ),
    hazards: str | None = typer.Option(
        None, "--hazards", help="Output mode: scenario hazards, e.g. toxic_gas,ammonia"
    ),
    un: str | None = typer.Option(None, "--un", help="Output mode: the scenario's UN number."),
    config: str | None = typer.Option(None, "--config", "-c", help="crisis-mas config file"),
    detector: str | None = typer.Option(
        None, "--detector", help="Injection detector: rules, model or both (default: config)."
    ),
) -> None:
    """Run the rails on TEXT and print {allowed, flags}."""
    from crisis_mas.config import load_config
    from crisis_mas.safety.guard import check_input, check_output, check_passage

    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        fail("empty text: pass the text to check, or '-' to read it from stdin", 2)
    cfg = load_config(config).ops.guard
    if detector is not None:
        if detector not in ("rules", "model", "both"):
            fail(f"--detector must be rules, model or both, not {detector!r}", 2)
        cfg = cfg.model_copy(update={"detector": detector})
    if mode == "input":
        res = check_input(text, cfg)
    elif mode == "passage":
        res = check_passage(text, cfg)
    elif mode == "output":
        ctx = {k: v for k, v in (("hazards", hazards), ("un_number", un)) if v}
        res = check_output(text, ctx or None, cfg)
    else:
        fail(f"--mode must be input, passage or output, not {mode!r}", 2)
    if as_json:
        print(json.dumps(res.public(), ensure_ascii=False))
        return
    verdict = "[green]allowed[/]" if res.allowed else "[bold red]not allowed[/]"
    out_console.print(
        f"{mode}: {verdict} (policy {cfg.policy}, block at score >= {cfg.block_threshold:g}, "
        f"detector {cfg.detector})"
    )
    for f in res.flags:
        by = f" [{f['detector']}]" if "detector" in f else ""
        out_console.print(f"- {f['type']}{by} {f['score']:.2f}: {f['reason']}", highlight=False)
    if res.redacted is not None and res.redacted != text:
        out_console.print(f"redacted: {res.redacted}", highlight=False)


@app.command("eval")
@handles_errors
def evaluate(
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
    hazmat: bool = typer.Option(
        True, "--hazmat/--no-hazmat", help="Also run the HAZMAT validator eval."
    ),
    detector: list[str] = typer.Option(
        ["rules", "model", "both"], "--detector", help="Detector(s) to report (repeatable)."
    ),
) -> None:
    """Detection and false-positive rates per set and detector (rules, model, both)."""
    from crisis_mas.safety.guard.evaluation import run_eval

    bad = [d for d in detector if d not in ("rules", "model", "both")]
    if bad:
        fail(f"--detector must be rules, model or both, not {bad[0]!r}", 2)
    modes = tuple(dict.fromkeys(detector))
    res = run_eval(modes=modes)
    if hazmat:
        from crisis_mas.safety.hazmat.evaluation import run_eval as hazmat_eval

        hz = hazmat_eval()
        res["hazmat_validator"] = {k: hz[k] for k in ("all/consistent", "all/contradicts")}
        res["hazmat_validator"]["_meta"] = hz["_meta"]
    if as_json:
        print(json.dumps(res, ensure_ascii=False))
        return
    t = Table(title="guard eval (rate per detector; target met: yes/NO)")
    for col in ("set", "metric", "n", "target", *modes):
        t.add_column(col, justify="left" if col in ("set", "metric") else "right")
    for name, row in res.items():
        if name.startswith("_") or name == "hazmat_validator":
            continue
        cells = []
        for m in modes:
            cell = row["modes"].get(m)
            if cell is None:
                cells.append("")
                continue
            met = cell.get("met")
            mark = "" if met is None else (" [green]yes[/]" if met else " [bold red]NO[/]")
            cells.append(f"{cell['rate']:.1%} ({cell['count']}){mark}")
        t.add_row(name, row["metric"], str(row["n"]), row.get("target", ""), *cells)
    out_console.print(t)
    if "hazmat_validator" in res:
        hv = res["hazmat_validator"]
        for k in ("all/consistent", "all/contradicts"):
            out_console.print(
                f"hazmat validator, expected {k.split('/')[1]}: "
                f"{hv[k]['correct']}/{hv[k]['n']} ({hv[k]['rate']:.2%})"
            )
    for name, row in res.items():
        if name.startswith("_") or name == "hazmat_validator" or row["metric"] == "detection":
            continue
        for m, cell in row["modes"].items():
            if cell["examples"]:
                out_console.print(
                    f"[dim]{name} [{m}] examples:[/] "
                    + " | ".join(e[:80] for e in cell["examples"]),
                    highlight=False,
                )
    out_console.print(
        f"[dim]{res['_meta']['seconds']} s; data from {res['_meta']['shared_data']}[/]"
    )


@app.command("train")
@handles_errors
def train(
    cv: bool = typer.Option(False, "--cv", help="Cross-source report only; write nothing."),
    out: str | None = typer.Option(None, "--out", help="Weights file (.npz); default: shipped."),
) -> None:
    """Train the learned injection detector (or report how it generalises across sources)."""
    from pathlib import Path

    from crisis_mas.safety.guard.crossval import cross_source_report, train_and_save
    from crisis_mas.safety.guard.learned import MODEL_FILE

    if cv:
        print(json.dumps(cross_source_report(), ensure_ascii=False, indent=1))
        return
    target = Path(out) if out else MODEL_FILE
    if target.suffix != ".npz":
        fail(f"--out must name a .npz file, not {out!r}", 2)
    meta = train_and_save(target)
    print(
        json.dumps(
            {
                k: meta[k]
                for k in ("version", "weights_sha256", "data_sha256", "thresholds", "examples")
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    app()
