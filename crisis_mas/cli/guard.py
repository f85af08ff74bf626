"""`crisis-mas guard check|eval`: the input/output guardrails from the command line."""

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
) -> None:
    """Run the rails on TEXT and print {allowed, flags}."""
    from crisis_mas.config import load_config
    from crisis_mas.safety.guard import check_input, check_output, check_passage

    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        fail("empty text: pass the text to check, or '-' to read it from stdin", 2)
    cfg = load_config(config).ops.guard
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
        f"{mode}: {verdict} (policy {cfg.policy}, block at score >= {cfg.block_threshold:g})"
    )
    for f in res.flags:
        out_console.print(f"- {f['type']} {f['score']:.2f}: {f['reason']}", highlight=False)
    if res.redacted is not None and res.redacted != text:
        out_console.print(f"redacted: {res.redacted}", highlight=False)


@app.command("eval")
@handles_errors
def evaluate(
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
    hazmat: bool = typer.Option(
        True, "--hazmat/--no-hazmat", help="Also run the HAZMAT validator eval."
    ),
) -> None:
    """Detection and false-positive rates per set (XSTest, Giskard, BIPIA, HAZMAT-benign...)."""
    from crisis_mas.safety.guard.evaluation import run_eval

    res = run_eval()
    if hazmat:
        from crisis_mas.safety.hazmat.evaluation import run_eval as hazmat_eval

        hz = hazmat_eval()
        res["hazmat_validator"] = {k: hz[k] for k in ("all/consistent", "all/contradicts")}
        res["hazmat_validator"]["_meta"] = hz["_meta"]
    if as_json:
        print(json.dumps(res, ensure_ascii=False))
        return
    t = Table(title="guard eval")
    for col in ("set", "metric", "n", "count", "rate", "target", "met"):
        t.add_column(col, justify="left" if col in ("set", "metric") else "right")
    for name, row in res.items():
        if name.startswith("_") or name == "hazmat_validator":
            continue
        met = row.get("met")
        t.add_row(
            name,
            row["metric"],
            str(row["n"]),
            str(row["count"]),
            f"{row['rate']:.1%}",
            row.get("target", ""),
            "" if met is None else ("[green]yes[/]" if met else "[bold red]NO[/]"),
        )
    out_console.print(t)
    if "hazmat_validator" in res:
        hv = res["hazmat_validator"]
        for k in ("all/consistent", "all/contradicts"):
            out_console.print(
                f"hazmat validator, expected {k.split('/')[1]}: "
                f"{hv[k]['correct']}/{hv[k]['n']} ({hv[k]['rate']:.2%})"
            )
    for name, row in res.items():
        if (
            not name.startswith("_")
            and name != "hazmat_validator"
            and row.get("examples")
            and row["metric"] != "detection"
        ):
            out_console.print(
                f"[dim]{name} examples:[/] " + " | ".join(e[:80] for e in row["examples"]),
                highlight=False,
            )
    out_console.print(
        f"[dim]{res['_meta']['seconds']} s; data from {res['_meta']['shared_data']}[/]"
    )


if __name__ == "__main__":
    app()
