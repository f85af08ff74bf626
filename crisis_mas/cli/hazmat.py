"""`crisis-mas hazmat check|lookup|eval`: HAZMAT facts against ERG 2024 and NIOSH IDLH tables."""

from __future__ import annotations

import json
import sys

import typer
from rich.table import Table

from crisis_mas.cli.common import fail, handles_errors, out_console

app = typer.Typer(
    help="HAZMAT fact checks: IDLH, ERG guide and distance claims against reference tables.",
    no_args_is_help=True,
)


def _read_text(text: str) -> str:
    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        fail("empty text: pass the text to check, or '-' to read it from stdin", 2)
    return text


@app.command("check")
@handles_errors
def check(
    text: str = typer.Argument(..., help="Text to check ('-' reads stdin), English or Greek."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
    un: str | None = typer.Option(None, "--un", help="Default substance, e.g. UN1005."),
    hazards: str | None = typer.Option(None, "--hazards", help="Comma-separated hazard words."),
) -> None:
    """Find IDLH, guide and distance claims and judge each one against the tables."""
    from crisis_mas.safety.hazmat import validate_text

    context = {k: v for k, v in (("un_number", un), ("hazards", hazards)) if v}
    findings = validate_text(_read_text(text), context or None)
    if as_json:
        print(json.dumps({"findings": [f.public() for f in findings]}, ensure_ascii=False))
        return
    if not findings:
        out_console.print("no IDLH, guide or distance claims found")
        return
    t = Table(title="HAZMAT claims")
    for col in ("verdict", "substance", "UN", "property", "stated", "reference", "source"):
        t.add_column(col)
    colour = {"consistent": "green", "contradicts": "bold red", "unknown": "yellow"}
    for f in findings:
        t.add_row(
            f"[{colour[f.verdict]}]{f.verdict}[/]",
            f.substance or "?",
            f.un_number or "",
            f.property,
            f.stated,
            f.reference or "",
            f.source or "",
        )
    out_console.print(t)
    for f in findings:
        if f.verdict != "consistent" and f.reason:
            out_console.print(f"- {f.reason}", highlight=False)


@app.command("lookup")
@handles_errors
def lookup(
    name: str = typer.Argument(..., help="Name, synonym, formula, Greek name, CAS or UNnnnn."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
) -> None:
    """Print every known fact about a substance: IDLH, guide, Table 1/2/3 distances."""
    from crisis_mas.safety.hazmat import lookup as do_lookup

    if not name.strip():
        fail("empty name: pass a substance name or a UN number such as UN1005", 2)
    facts = do_lookup(name)
    if facts is None:
        fail(
            f"unknown substance: {name!r} (not in the ERG index, NIOSH table or synonyms; "
            "try a UN number such as UN1005)",
            1,
        )
    data = facts.model_dump(exclude_none=True)
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
        return
    t = Table(
        title=f"{facts.name}" + (f" ({', '.join(facts.un_numbers)})" if facts.un_numbers else ""),
        show_header=False,
    )
    t.add_column("fact")
    t.add_column("value")
    if facts.cas:
        t.add_row("CAS", facts.cas)
    if facts.formulas:
        t.add_row("formula", ", ".join(facts.formulas))
    if facts.synonyms or facts.greek_names:
        t.add_row("also", ", ".join(facts.synonyms + facts.greek_names))
    if facts.idlh:
        i = facts.idlh
        conv = "".join(f" (= {v:g} {u})" for u, v in i.converted.items())
        extra = (" Ca" if i.carcinogen else "") + (f" [{i.basis}]" if i.basis else "")
        t.add_row("IDLH", f"{i.value:g} {i.unit}{conv}{extra}  — {i.source}")
    elif facts.idlh_note:
        t.add_row("IDLH", facts.idlh_note)
    for e in facts.erg:
        flags = " TIH" if e.tih else ""
        flags += " (P) may polymerize" if e.polymerization else ""
        t.add_row(e.un_number, f"guide {', '.join(map(str, e.guides))}{flags}: {e.names[0]}")
        if e.table1:
            for size in ("small_spill", "large_spill"):
                t.add_row(f"  {size.replace('_', ' ')}", _spill_text(e.table1.get(size, {})))
        if e.table2:
            gases = sorted({g for row in e.table2 for g in row["tih_gases"]})
            t.add_row("  water-reactive", "produces " + ", ".join(gases))
        if e.table3:
            for c in e.table3["containers"]:
                t.add_row(
                    f"  Table 3: {c['type']}",
                    f"isolate {c['isolation_m']:g} m; day {_winds(c['day_km'])}; "
                    f"night {_winds(c['night_km'])}",
                )
    out_console.print(t)


def _spill_text(spill: dict) -> str:
    parts = []
    if spill.get("refer_table3"):
        parts.append("Refer to Table 3")
    for key, label in (
        ("isolation", "isolate"),
        ("protect_day", "day"),
        ("protect_night", "night"),
    ):
        fig = spill.get(key)
        if fig:
            parts.append(f"{label} " + " / ".join(f"{v:g} {u}" for u, v in fig.items()))
    return "; ".join(parts) or "—"


def _winds(d: dict) -> str:
    return ", ".join(f"{k.replace('_wind', '')} {v:g} km" for k, v in d.items())


@app.command("eval")
@handles_errors
def evaluate(
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
    factor: float = typer.Option(2.5, "--factor", help="Wrong values are off by this (>= 2)."),
) -> None:
    """Validator eval: table-derived claims with right values (consistent) and wrong ones."""
    from crisis_mas.safety.hazmat.evaluation import run_eval

    if factor < 2:
        fail("--factor must be at least 2", 2)
    res = run_eval(factor=factor)
    if as_json:
        print(json.dumps(res, ensure_ascii=False))
        return
    t = Table(title="HAZMAT validator eval (claims generated from the reference tables)")
    for col in ("group / expected", "n", "as expected", "rate"):
        t.add_column(col, justify="right" if col != "group / expected" else "left")
    for k, v in res.items():
        if k != "_meta":
            t.add_row(k, str(v["n"]), str(v["correct"]), f"{v['rate']:.2%}")
    out_console.print(t)
    meta = res["_meta"]
    out_console.print(
        f"{meta['cases']} claims in {meta['seconds']} s; wrong values are x/÷"
        f"{meta['wrong_factor']:g} or a guide the ERG never gives that UN number."
    )


if __name__ == "__main__":
    app()
