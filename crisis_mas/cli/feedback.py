"""`crisis-mas feedback RUN_ID --outcome ALT_ID` and `crisis-mas experts reliability`: operator
outcomes into the run store, and the reliability they earn each expert."""

from __future__ import annotations

import json as _json

import typer
from pydantic import ValidationError
from rich.table import Table

from crisis_mas.cli.common import handles_errors, out_console
from crisis_mas.errors import InputError


@handles_errors
def feedback(
    run_id: str = typer.Argument(..., help="A stored run id (crisis-mas runs list)"),
    outcome: str = typer.Option(..., "--outcome", help="The alternative id actually carried out"),
    rating: int | None = typer.Option(None, "--rating", min=1, max=5, help="1 (poor) to 5"),
    note: str | None = typer.Option(None, "--note", help="Free-text note"),
    json: bool = typer.Option(False, "--json"),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """Record the operator's outcome for a run (it drives expert reliability)."""
    from crisis_mas.config import load_config
    from crisis_mas.experts.reliability import FeedbackIn
    from crisis_mas.report.feedback import record_feedback

    try:
        body = FeedbackIn(outcome=outcome, rating=rating, note=note)
    except ValidationError as err:
        first = err.errors()[0]
        raise InputError(f"--{first['loc'][0]}: {first['msg']}") from None
    fb = record_feedback(load_config(config).store, run_id, body)
    if json:
        print(_json.dumps(fb.model_dump(), ensure_ascii=False))
        return
    right = [e for e, c in fb.firsts.items() if c == fb.outcome]
    out_console.print(
        f"feedback {fb.id} on {run_id}: outcome {fb.outcome}"
        + (f", rating {fb.rating}" if fb.rating else "")
        + f"; right: {', '.join(right) or 'none'}",
        highlight=False,
        soft_wrap=True,
    )


@handles_errors
def experts_reliability(
    crisis_type: str | None = typer.Option(None, "--type", help="Only this crisis type"),
    json: bool = typer.Option(False, "--json"),
    config: str | None = typer.Option(None, "--config", "-c"),
) -> None:
    """Reliability per expert and crisis type, learned from operator outcomes only."""
    from crisis_mas.config import load_config
    from crisis_mas.experts.reliability import FeedbackStore, reliability_table

    cfg = load_config(config)
    rows = reliability_table(
        FeedbackStore(cfg.store),
        cfg.feedback,
        crisis_types=[crisis_type] if crisis_type else None,
    )
    if json:
        print(_json.dumps([r.model_dump() for r in rows], ensure_ascii=False))
        return
    t = Table(title="Expert reliability (Beta prior + decayed operator outcomes)")
    for col in ("expert", "crisis type", "prior", "reliability", "outcomes", "right"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r.expert_id,
            r.crisis_type,
            f"{r.prior:.2f}",
            f"{r.reliability:.3f}" + ("" if r.outcomes else " (prior)"),
            str(r.outcomes),
            str(r.right),
        )
    out_console.print(t)
