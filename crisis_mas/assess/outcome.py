"""What a run may honestly claim: its status (ok, degraded, failed), the commander's summary
(grounded items only), per-expert grounding, sources cited once, and the demonstration notice.

- No expert answered (every assessment failed: engine down or refusing its settings, scenario
  blocked) -> `failed`, no recommendation.
- Every expert that did not fail fell back -> `degraded`; the decision's first line says the
  ranking rests on doctrine priors and criteria scores alone.
"""

from __future__ import annotations

from crisis_mas.assess.generation import ExpertCall
from crisis_mas.coordinator.decision import Decision
from crisis_mas.experts.assessment import Assessment, Citation
from crisis_mas.report.model import CommanderSummary, GroundingStats, RunStatus, SummaryItem

DEGRADED_LINE = (
    "DEGRADED: no expert's answer could be used, so this ranking rests on doctrine priors and "
    "criteria scores alone."
)
DEMO_NOTICE = (
    "Demonstration model ({base}): a small embedded model for trying the system out, "
    "not operational advice."
)


def demo_notice(base: str) -> str | None:
    """The one-line notice for reports made on the embedded demonstration model."""
    return DEMO_NOTICE.format(base=base) if base.startswith("embedded:") else None


def run_status(assessments: list[Assessment]) -> tuple[RunStatus, str | None]:
    """ok / degraded / failed, with the reason for the latter two (for a failed run, why no
    expert answered: the engine's or the guard's one-line error)."""
    live = [a for a in assessments if a.status != "failed"]
    if not live:
        errors = list(dict.fromkeys(_first_line(a.error) for a in assessments if a.error))
        why = "; ".join(errors) or "no expert was selected"
        return "failed", why
    if all(a.status == "fallback" for a in live):
        reasons = list(dict.fromkeys(_first_line(a.fallback_reason) for a in live))
        return "degraded", "every expert fell back: " + "; ".join(r for r in reasons if r)
    return "ok", None


def _first_line(text: str | None, limit: int = 300) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def failed_decision(method: str, reason: str) -> Decision:
    """The decision of a run no expert answered: no recommendation, and why."""
    return Decision(
        recommended=None,
        ranking=[],
        consensus=0.0,
        conflict_mass=0.0,
        conflicts=[],
        method=method,
        weights=[],
        criteria_weights={},
        explanation=f"No recommendation: no expert answered ({reason}).",
    )


def degraded_decision(decision: Decision) -> Decision:
    return decision.model_copy(update={"explanation": DEGRADED_LINE + "\n" + decision.explanation})


def cite_once(assessments: list[Assessment]) -> tuple[list[Assessment], list[Citation]]:
    """Each expert's citations with one entry per document, and the report's sources (each
    document once, in first-cited order)."""
    out, sources, seen = [], [], set()
    for a in assessments:
        own: dict[str, Citation] = {}
        for c in a.citations:
            own.setdefault(c.doc_id, c)
        out.append(a.model_copy(update={"citations": list(own.values())}))
        for c in own.values():
            if c.doc_id not in seen:
                seen.add(c.doc_id)
                sources.append(Citation(doc_id=c.doc_id, chunk_id=c.chunk_id, title=c.title))
    return out, sources


def ground(
    assessments: list[Assessment], calls: dict[str, ExpertCall]
) -> tuple[dict[str, GroundingStats], CommanderSummary]:
    """Per-expert grounding of the final answers, and the commander's summary: the concerns and
    actions whose every claim is grounded (against what that expert's request gave it)."""
    from crisis_mas.middleware.grounding import reference_for
    from crisis_mas.safety.grounding import check

    stats: dict[str, GroundingStats] = {}
    summary = CommanderSummary()
    shown: set[str] = set()
    for a in assessments:
        call = calls.get(a.expert_id)
        if a.status == "failed" or call is None or call.request is None:
            continue
        ref = reference_for(call.request)
        tags = call.request.tags
        claims, bad, withheld = 0, [], 0
        for c in check(a.rationale, ref, tags):
            claims += 1
            if not c.grounded:
                bad.append(c.text)
        for items, target in (
            (a.key_concerns, summary.concerns),
            (a.immediate_actions, summary.actions),
        ):
            for item in items:
                found = check(item, ref, tags)
                claims += len(found)
                missing = [c.text for c in found if not c.grounded]
                bad += missing
                if missing:
                    withheld += 1
                elif item.lower() not in shown:
                    shown.add(item.lower())
                    target.append(SummaryItem(expert_id=a.expert_id, text=item))
        summary.withheld += withheld
        grounded = claims - len(bad)
        stats[a.expert_id] = GroundingStats(
            claims=claims,
            grounded=grounded,
            rate=round(grounded / claims, 4) if claims else None,
            ungrounded=list(dict.fromkeys(bad)),
            withheld_items=withheld,
            requeried=call.grounding_requeried,
        )
    return stats, summary
