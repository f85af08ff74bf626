"""Live per-expert progress of `crisis-mas run` (rich), fed by the Assessor's `ProgressEvent`s:
one row per expert through retrieval, generation (tokens), scoring, and done or fallback with
its flags, under a header with the run's current stage and elapsed time."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from crisis_mas.assess import ProgressEvent

_RUN_STAGE = {
    "selected": "experts selected",
    "retrieving": "retrieving passages from the knowledge base",
    "generating": "experts answering (the engine loads on first use)",
    "scoring": "scoring each answer over the alternatives",
    "deciding": "combining the assessments",
    "decision": "decided",
}
_STYLE = {"ok": "green", "fallback": "yellow", "failed": "red"}


@dataclass
class _Row:
    expert: str
    stage: str = "waiting"
    passages: int | None = None
    tokens: str = ""
    choice: str = ""
    flags: list[str] = field(default_factory=list)
    status: str | None = None


class LiveProgress:
    """A rich Live display updated from progress events (call `on_event` from the run)."""

    def __init__(self, console: Any, names: dict[str, str] | None = None):
        self.console = console
        self.names = names or {}  # alternative id -> name
        self.rows: dict[str, _Row] = {}
        self.stage = "starting"
        self.t0 = time.monotonic()
        # No stdout/stderr redirection: engines imported during the run bind their log handlers
        # to sys.stdout/stderr, which must stay the fds that EngineLog sends to engine.log.
        self.live = Live(
            self._render(),
            console=console,
            refresh_per_second=8,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __enter__(self) -> LiveProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.update(self._render(final=True))
        self.live.__exit__(*exc)

    def note(self, text: str) -> None:
        """A run-level line outside the Assessor (adapter training, engine shutdown)."""
        self.stage = text
        self.live.update(self._render())

    def on_event(self, e: ProgressEvent) -> None:
        if e.expert is None:
            self._run_event(e)
        else:
            self._expert_event(e)
        self.live.update(self._render())

    def _run_event(self, e: ProgressEvent) -> None:
        self.stage = _RUN_STAGE.get(e.stage, e.stage)
        if e.stage == "selected":
            for x in e.detail.get("experts", []):
                self.rows.setdefault(x, _Row(x))
        elif e.stage in ("retrieving", "generating", "scoring"):
            verb = {"retrieving": "retrieving", "generating": "generating", "scoring": "scoring"}
            for row in self.rows.values():
                if row.status is None and (e.stage != "scoring" or row.stage != "error"):
                    row.stage = verb[e.stage] + "…"
        elif e.stage == "decision":
            rec = e.detail.get("recommended")
            self.stage = f"decided: {self.names.get(rec, rec)}"

    def _expert_event(self, e: ProgressEvent) -> None:
        row = self.rows.setdefault(e.expert or "?", _Row(e.expert or "?"))
        d = e.detail
        if e.stage == "retrieved":
            row.passages = d.get("passages")
            row.stage = "passages retrieved"
        elif e.stage == "generated":
            row.tokens = f"{d.get('prompt_tokens', 0)}+{d.get('completion_tokens', 0)}"
            row.flags = [f for f in d.get("flags") or [] if f]
            attempts = d.get("attempts", 1)
            row.stage = "error" if d.get("error") else "answered"
            if attempts and attempts > 1:
                row.stage += f" ({attempts} attempts)"
        elif e.stage == "done":
            row.status = d.get("status")
            rec = d.get("recommended")
            row.choice = self.names.get(rec, rec) or ""
            row.flags = [*row.flags, *(f for f in d.get("flags") or [] if f not in row.flags)]
            row.stage = {"ok": "done", "fallback": "fallback (doctrine prior)"}.get(
                row.status or "", row.status or "done"
            )

    def _render(self, final: bool = False) -> Group:
        elapsed = time.monotonic() - self.t0
        head: Any
        if final:
            head = Text(f"✓ {self.stage}  ({elapsed:.0f} s)", style="bold")
        else:
            head = Spinner("dots", Text(f" {self.stage}  ({elapsed:.0f} s)"))
        if not self.rows:
            return Group(head)
        t = Table(box=None, pad_edge=False, show_header=True, header_style="dim")
        for col in ("expert", "stage", "passages", "tokens", "first choice", "flags"):
            t.add_column(col, no_wrap=col in ("expert", "tokens"), overflow="fold")
        for r in self.rows.values():
            t.add_row(
                r.expert,
                Text(r.stage, style=_STYLE.get(r.status or "", "")),
                "" if r.passages is None else str(r.passages),
                r.tokens,
                r.choice,
                Text(_counted(r.flags), style="yellow") if r.flags else "",
            )
        return Group(head, t)


def _counted(flags: list[str]) -> str:
    """`ungrounded_claim ×3, pii`: each flag type once, with how often it was raised."""
    counts: dict[str, int] = {}
    for f in flags:
        counts[f] = counts.get(f, 0) + 1
    return ", ".join(f"{f} ×{n}" if n > 1 else f for f, n in counts.items())
