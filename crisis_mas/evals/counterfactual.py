"""Counterfactual-suite metrics: scenarios right, pairs with both members right, their chance
levels, and a per-expert ablation (do an expert's beliefs pick the labelled action more often than
its doctrine prior does?).

A pair is two scenarios with the same alternatives and identical, neutral criteria scores that
differ only in the facts that make a different alternative right by published doctrine
(`evals/suites/counterfactual/`). A decision that ignores the facts can get at most one of a
pair right, so "pairs both right" is the number that shows reading the scenario.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from crisis_mas.experts.assessment import doctrine_prior
from crisis_mas.experts.profiles import load_profiles
from crisis_mas.report.model import Report
from crisis_mas.scenario import Scenario


class ExpertAblation(BaseModel):
    """One expert over the suite: how often its beliefs and its doctrine prior pick a labelled
    alternative (exact ties share the credit)."""

    n: int
    beliefs_right_rate: float
    prior_right_rate: float


class CounterfactualSummary(BaseModel):
    n_scenarios: int
    scenarios_right: int
    scenarios_right_rate: float
    chance_scenarios: float  # expected rate of a uniform random pick
    n_pairs: int
    pairs_both_right: int
    pairs_both_right_rate: float
    chance_pairs: float
    # The doctrine rules alone (the decision's rule-based evidence), where they spoke.
    doctrine_right_rate: float | None = None
    doctrine_silent: int = 0
    experts: dict[str, ExpertAblation] = Field(default_factory=dict)


def hit(dist: dict[str, float], acceptable: list[str]) -> float:
    """Credit for a distribution's top choice: 1 if it is acceptable; ties share the credit."""
    if not dist:
        return 0.0
    top = max(dist.values())
    best = [k for k, v in dist.items() if v >= top - 1e-9]
    return sum(k in acceptable for k in best) / len(best)


def chance(scenario: Scenario, acceptable: list[str]) -> float:
    ids = scenario.alternative_ids
    return sum(i in acceptable for i in ids) / len(ids)


def expert_hits(
    report: Report, scenario: Scenario, acceptable: list[str]
) -> dict[str, list[float]]:
    """Expert id -> [credit of its beliefs, credit of its doctrine prior], for model answers."""
    profiles = load_profiles()
    out = {}
    for a in report.assessments:
        if a.status != "ok" or a.expert_id not in profiles:
            continue
        prior = doctrine_prior(profiles[a.expert_id], scenario)
        out[a.expert_id] = [hit(a.beliefs, acceptable), hit(prior, acceptable)]
    return out


def doctrine_hit(report: Report, acceptable: list[str]) -> float | None:
    """Credit of the decision's doctrine evidence (None when the rules did not speak)."""
    doctrine = getattr(report.decision, "doctrine", None)
    if doctrine is None or not doctrine.beliefs:
        return None
    return hit(doctrine.beliefs, acceptable)


def summarise(
    rows: list[tuple[str, str, bool, float, dict[str, list[float]], float | None]],
) -> CounterfactualSummary | None:
    """From (pair, run index, right, chance, expert hits, doctrine hit) per scored run."""
    if not rows:
        return None
    n = len(rows)
    right = sum(r[2] for r in rows)
    pairs: dict[tuple[str, str], list[tuple[bool, float]]] = {}
    for pair, idx, ok, ch, _, _ in rows:
        pairs.setdefault((pair, idx), []).append((ok, ch))
    full = [v for v in pairs.values() if len(v) == 2]
    both = sum(all(ok for ok, _ in v) for v in full)
    chance_pairs = sum(v[0][1] * v[1][1] for v in full) / len(full) if full else 0.0
    spoke = [r[5] for r in rows if r[5] is not None]
    experts: dict[str, list[list[float]]] = {}
    for *_, hits, _ in rows:
        for e, h in hits.items():
            experts.setdefault(e, []).append(h)
    return CounterfactualSummary(
        n_scenarios=n,
        scenarios_right=right,
        scenarios_right_rate=round(right / n, 4),
        chance_scenarios=round(sum(r[3] for r in rows) / n, 4),
        n_pairs=len(full),
        pairs_both_right=both,
        pairs_both_right_rate=round(both / len(full), 4) if full else 0.0,
        chance_pairs=round(chance_pairs, 4),
        doctrine_right_rate=round(sum(spoke) / len(spoke), 4) if spoke else None,
        doctrine_silent=n - len(spoke),
        experts={
            e: ExpertAblation(
                n=len(h),
                beliefs_right_rate=round(sum(x[0] for x in h) / len(h), 4),
                prior_right_rate=round(sum(x[1] for x in h) / len(h), 4),
            )
            for e, h in sorted(experts.items())
        },
    )
