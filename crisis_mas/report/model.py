"""The run report: one JSON object (also printed by `--json`) and its Markdown rendering."""

from __future__ import annotations

from pydantic import BaseModel, Field

from crisis_mas.coordinator.decision import Decision
from crisis_mas.experts.assessment import Assessment
from crisis_mas.experts.selection import Selection


class ModelRef(BaseModel):
    base: str
    backend: str


class Report(BaseModel):
    scenario_id: str
    scenario_name: str
    scenario_type: str
    run_id: str
    created_at: str
    model: ModelRef
    experts: list[Selection]
    assessments: list[Assessment]
    decision: Decision
    warnings: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def to_markdown(r: Report) -> str:
    d = r.decision
    out = [
        f"# {r.scenario_name} — assessment {r.run_id}",
        "",
        f"Scenario `{r.scenario_id}` ({r.scenario_type}); "
        f"model `{r.model.base}` on `{r.model.backend}`;"
        f" created {r.created_at}.",
        "",
        "## Decision",
        "",
        f"**Recommended: `{d.recommended}`**",
        "",
        d.explanation,
        "",
        "| rank | alternative | score | belief | TOPSIS | first choice of |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for i, alt in enumerate(d.ranking, 1):
        out.append(
            f"| {i} | `{alt.alternative_id}` {alt.name} | {alt.score:.3f} | {alt.belief:.3f} | "
            f"{alt.topsis:.3f} | {', '.join(alt.first_choice_of) or '—'} |"
        )
    out += [
        "",
        f"Consensus {d.consensus:.2f}, conflict mass {d.conflict_mass:.2f} ({d.method} rule).",
    ]
    if d.conflicts:
        out.append("")
        out.append(
            "Conflicts: "
            + "; ".join(
                f"{c.experts[0]} ({c.choices[0]}) vs {c.experts[1]} ({c.choices[1]}), "
                f"JSD {c.divergence:.3f}"
                for c in d.conflicts
            )
        )
    if r.warnings:
        out += ["", "## Warnings", ""] + [f"- {w}" for w in r.warnings]
    out += ["", "## Expert assessments", ""]
    for a in r.assessments:
        label = {"ok": "", "fallback": " — FALLBACK", "failed": " — FAILED"}[a.status]
        out += [
            f"### {a.expert_name} (`{a.expert_id}`, adapter `{a.adapter or 'none'}`){label}",
            "",
        ]
        if a.status == "failed":
            out += [f"Error: {a.error}", ""]
            continue
        if a.fallback_reason:
            out += [f"*Fallback: {a.fallback_reason}*", ""]
        out += [
            f"First choice `{a.recommended}`, confidence {a.confidence:.2f}; "
            f"{a.tokens.prompt}+{a.tokens.completion} tokens, {a.latency_ms:.0f} ms"
            + (" (cached)" if a.cached else "")
            + ".",
            "",
            "Beliefs: "
            + ", ".join(
                f"`{k}` {_pct(v)}" for k, v in sorted(a.beliefs.items(), key=lambda kv: -kv[1])
            ),
            "",
            f"**Rationale.** {a.rationale}",
            "",
            "**Key concerns.**",
        ]
        out += [f"- {c}" for c in a.key_concerns] + ["", "**Immediate actions.**"]
        out += [f"- {c}" for c in a.immediate_actions]
        if a.flags:
            out += ["", "**Flags.**"] + [
                f"- {f.get('type')}: {f.get('reason', '')}" for f in a.flags
            ]
        if a.citations:
            out += [
                "",
                "**Sources.** " + "; ".join(f"{c.title} (`{c.doc_id}`)" for c in a.citations),
            ]
        out.append("")
    out += ["## Timings", ""] + [f"- {k}: {v:.0f} ms" for k, v in r.timings.items()]
    return "\n".join(out) + "\n"
