"""Rule- and label-based metrics: one `ScenarioScore` per report, aggregated into `SuiteMetrics`.

Everything here is computed from a `Report` and its labels only, so it is testable on known inputs
and identical whether the report came from the CLI, the Serve app or the eval harness.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from crisis_mas.evals.counterfactual import (
    CounterfactualSummary,
    chance,
    doctrine_hit,
    expert_hits,
    summarise,
)
from crisis_mas.evals.labels import ScenarioLabels
from crisis_mas.report.model import Report
from crisis_mas.scenario import Scenario

HAZMAT_FLAG = "hazmat_contradiction"


class ScenarioScore(BaseModel):
    scenario_id: str
    run_id: str
    recommended: str | None
    top1_acceptable: bool
    unacceptable_chosen: bool
    unacceptable_reason: str | None = None
    n_assessments: int
    n_valid: int  # status "ok": the model's answer parsed in the trained format
    n_hazmat_contradictions: int  # assessments still carrying a hazmat_contradiction flag
    n_guard_flags: int  # flags from the guard rails (not hazmat)
    fact_errors: list[str] = Field(default_factory=list)  # "ammonia IDLH: 30 (expert medical)"
    consensus: float
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    # Grounding (issue 13): claims in the final answers and how many trace to a source, per
    # expert as [claims, grounded]; sources cited twice by one expert.
    n_claims: int = 0
    n_grounded_claims: int = 0
    claims_by_expert: dict[str, list[int]] = Field(default_factory=dict)
    duplicate_citations: int = 0
    n_fallback: int = 0
    # Counterfactual suites (issue 13): the pair, a uniform pick's chance of being right, each
    # model expert's [beliefs, doctrine prior] credit, the doctrine rules' credit.
    pair: str | None = None
    chance: float | None = None
    expert_hits: dict[str, list[float]] = Field(default_factory=dict)
    doctrine_hit: float | None = None

    @property
    def quality(self) -> float:
        """The paired-test score: 1 acceptable, 0 neutral, -1 unacceptable top-1."""
        return 1.0 if self.top1_acceptable else (-1.0 if self.unacceptable_chosen else 0.0)


def score_report(
    report: Report,
    labels: ScenarioLabels,
    cost_per_1k_prompt: float = 0.0,
    cost_per_1k_completion: float = 0.0,
    scenario: Scenario | None = None,
) -> ScenarioScore:
    """Score one run against its scenario's labels (with the scenario: the ablation too)."""
    rec = report.decision.recommended
    reasons = {u.id: u.reason for u in labels.unacceptable}
    hazmat = guard = 0
    fact_errors: list[str] = []
    for a in report.assessments:
        types = [str(f.get("type", "")) for f in a.flags]
        if a.hazmat_contradicts or HAZMAT_FLAG in types:
            hazmat += 1
        guard += sum(1 for t in types if t and not t.startswith(("hazmat_", "ungrounded_")))
        text = "\n".join([a.rationale, *a.key_concerns, *a.immediate_actions]) or a.raw_text
        for fact in labels.facts:
            for wrong in fact.wrong_values(text):
                fact_errors.append(f"{fact.name}: {wrong} (expert {a.expert_id})")
    grounding = getattr(report, "grounding", {}) or {}
    by_expert = {e: [g.claims, g.grounded] for e, g in grounding.items()}
    dup = sum(len(a.citations) - len({c.doc_id for c in a.citations}) for a in report.assessments)
    pt = sum(a.tokens.prompt for a in report.assessments)
    ct = sum(a.tokens.completion for a in report.assessments)
    latency = report.timings.get("total_ms")
    if latency is None:
        latency = max((a.latency_ms for a in report.assessments), default=0.0)
    return ScenarioScore(
        scenario_id=report.scenario_id,
        run_id=report.run_id,
        recommended=rec,
        top1_acceptable=rec in labels.acceptable,
        unacceptable_chosen=rec in reasons,
        unacceptable_reason=reasons.get(rec or ""),
        n_assessments=len(report.assessments),
        n_valid=sum(1 for a in report.assessments if a.status == "ok"),
        n_hazmat_contradictions=hazmat,
        n_guard_flags=guard,
        fact_errors=fact_errors,
        consensus=report.decision.consensus,
        latency_ms=float(latency),
        prompt_tokens=pt,
        completion_tokens=ct,
        cost_usd=(pt * cost_per_1k_prompt + ct * cost_per_1k_completion) / 1000,
        n_claims=sum(c for c, _ in by_expert.values()),
        n_grounded_claims=sum(g for _, g in by_expert.values()),
        claims_by_expert=by_expert,
        duplicate_citations=dup,
        n_fallback=sum(1 for a in report.assessments if a.status == "fallback"),
        pair=labels.pair,
        chance=chance(scenario, labels.acceptable) if scenario else None,
        expert_hits=(expert_hits(report, scenario, labels.acceptable) if scenario else {}),
        doctrine_hit=doctrine_hit(report, labels.acceptable),
    )


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in [0, 100]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class SuiteMetrics(BaseModel):
    n_runs: int
    schema_valid_rate: float  # ok assessments / all assessments
    top1_acceptable_rate: float
    unacceptable_chosen_rate: float
    hazmat_contradiction_rate: float  # contradicting assessments / all assessments
    fact_error_rate: float  # runs with at least one wrong labelled fact
    guard_flags: int
    consensus_mean: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    grounded_claim_rate: float | None = None
    grounded_claim_rate_by_expert: dict[str, float] = Field(default_factory=dict)
    fallback_rate: float = 0.0  # fallback assessments / all assessments
    duplicate_citations: int = 0
    counterfactual: CounterfactualSummary | None = None


def _rate(num: float, den: float) -> float:
    return round(num / den, 4) if den else 0.0


def suite_metrics(scores: list[ScenarioScore]) -> SuiteMetrics:
    """Aggregate per-run scores (empty input gives zero rates, not an error)."""
    n = len(scores)
    n_a = sum(s.n_assessments for s in scores)
    lat = [s.latency_ms for s in scores]
    return SuiteMetrics(
        n_runs=n,
        schema_valid_rate=_rate(sum(s.n_valid for s in scores), n_a),
        top1_acceptable_rate=_rate(sum(s.top1_acceptable for s in scores), n),
        unacceptable_chosen_rate=_rate(sum(s.unacceptable_chosen for s in scores), n),
        hazmat_contradiction_rate=_rate(sum(s.n_hazmat_contradictions for s in scores), n_a),
        fact_error_rate=_rate(sum(bool(s.fact_errors) for s in scores), n),
        guard_flags=sum(s.n_guard_flags for s in scores),
        consensus_mean=round(sum(s.consensus for s in scores) / n, 4) if n else 0.0,
        latency_p50_ms=percentile(lat, 50),
        latency_p95_ms=percentile(lat, 95),
        prompt_tokens=sum(s.prompt_tokens for s in scores),
        completion_tokens=sum(s.completion_tokens for s in scores),
        cost_usd=round(sum(s.cost_usd for s in scores), 6),
        grounded_claim_rate=_claim_rate([[s.n_claims, s.n_grounded_claims] for s in scores]),
        grounded_claim_rate_by_expert=_claim_rates_by_expert(scores),
        fallback_rate=_rate(sum(s.n_fallback for s in scores), n_a),
        duplicate_citations=sum(s.duplicate_citations for s in scores),
        counterfactual=summarise(
            [
                (
                    s.pair,
                    s.run_id.rsplit("-", 1)[-1],
                    s.top1_acceptable,
                    s.chance or 0.0,
                    s.expert_hits,
                    s.doctrine_hit,
                )
                for s in scores
                if s.pair is not None
            ]
        ),
    )


def _claim_rate(pairs: list[list[int]]) -> float | None:
    claims = sum(c for c, _ in pairs)
    return round(sum(g for _, g in pairs) / claims, 4) if claims else None


def _claim_rates_by_expert(scores: list[ScenarioScore]) -> dict[str, float]:
    experts = sorted({e for s in scores for e in s.claims_by_expert})
    rates = {
        e: _claim_rate([s.claims_by_expert[e] for s in scores if e in s.claims_by_expert])
        for e in experts
    }
    return {e: r for e, r in rates.items() if r is not None}
