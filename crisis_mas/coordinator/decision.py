"""The coordinator: combines expert assessments into one ranked, explained decision.

1. Belief aggregation: each expert's distribution becomes a mass function over singletons plus the
   frame Θ, discounted by reliability x relevance (Shafer discounting); masses are combined with
   Dempster's rule, Yager's rule (conflict goes to Θ) or a weighted linear pool; the result is
   read through the pignistic transform.
   Doctrine rules applied to the scenario's facts (`experts.doctrine`) join as one more source,
   labelled "doctrine", when they separate the alternatives.
2. Consensus: 1 - mean pairwise Jensen-Shannon divergence; disagreeing pairs are reported.
3. MCDA: TOPSIS over the alternatives' criteria scores with the experts' weights, vector-normalised.
4. Final score = w * belief + (1 - w) * TOPSIS share; overriding a unanimous choice is explained.
"""

from __future__ import annotations

import math
from itertools import combinations

from pydantic import BaseModel, Field

from crisis_mas.coordinator.config import AggregationConfig
from crisis_mas.experts.assessment import Assessment
from crisis_mas.experts.doctrine import DoctrineEvidence, doctrine_evidence
from crisis_mas.experts.profiles import ExpertProfile
from crisis_mas.scenario import CRITERIA, Scenario


class RankedAlternative(BaseModel):
    alternative_id: str
    name: str
    score: float
    belief: float
    topsis: float
    first_choice_of: list[str] = Field(default_factory=list)


class Conflict(BaseModel):
    experts: list[str]
    choices: list[str]
    divergence: float


class ExpertWeight(BaseModel):
    expert_id: str
    reliability: float
    relevance: float
    weight: float
    note: str | None = None


class Decision(BaseModel):
    recommended: str | None
    ranking: list[RankedAlternative]
    consensus: float
    conflict_mass: float
    conflicts: list[Conflict]
    method: str
    weights: list[ExpertWeight]
    criteria_weights: dict[str, float]
    overrides_unanimous: bool = False
    explanation: str
    # The rule-based doctrine evidence that entered the combination (None: off or silent).
    doctrine: DoctrineEvidence | None = None


DOCTRINE_ID = "doctrine"  # the rule-based evidence source's id in weights and sources


# -- evidential combination ---------------------------------------------------------------------
Mass = tuple[list[float], float]  # (singleton masses in alternative order, mass on Θ)


def discount(p: list[float], alpha: float) -> Mass:
    return [alpha * x for x in p], 1.0 - alpha


def combine(m1: Mass, m2: Mass, rule: str) -> tuple[Mass, float]:
    """Combine two singleton+Θ mass functions; returns the result and the conflict K."""
    s1, t1 = m1
    s2, t2 = m2
    joint = [a * b + a * t2 + t1 * b for a, b in zip(s1, s2, strict=True)]
    theta = t1 * t2
    k = sum(s1) * sum(s2) - sum(a * b for a, b in zip(s1, s2, strict=True))
    if rule == "dempster":
        if k >= 1 - 1e-12:  # total conflict: Dempster's rule is undefined; fall back to Yager
            return (joint, theta + k), k
        return ([x / (1 - k) for x in joint], theta / (1 - k)), k
    return (joint, theta + k), k  # yager: conflict becomes ignorance


def pignistic(m: Mass) -> list[float]:
    s, theta = m
    n = len(s)
    out = [x + theta / n for x in s]
    z = sum(out)
    return [x / z for x in out]


def js_divergence(p: list[float], q: list[float]) -> float:
    """Jensen-Shannon divergence in bits (0 = identical, 1 = disjoint)."""
    mix = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(x: list[float]) -> float:
        return sum(a * math.log2(a / m) for a, m in zip(x, mix, strict=True) if a > 0)

    return max(0.0, min(1.0, (kl(p) + kl(q)) / 2))


def topsis(scenario: Scenario, weights: dict[str, float]) -> list[float]:
    """TOPSIS closeness in [0, 1] per alternative; every criterion is a benefit (cost: cheaper)."""
    rows = [a.criteria_scores.vector() for a in scenario.available_actions]
    cols = list(zip(*rows, strict=True))
    norms = [math.sqrt(sum(x * x for x in col)) or 1.0 for col in cols]
    w = [weights[c] for c in CRITERIA]
    v = [[w[j] * r[j] / norms[j] for j in range(len(CRITERIA))] for r in rows]
    best = [max(col) for col in zip(*v, strict=True)]
    worst = [min(col) for col in zip(*v, strict=True)]
    out = []
    for r in v:
        d_pos = math.dist(r, best)
        d_neg = math.dist(r, worst)
        out.append(0.5 if d_pos + d_neg == 0 else d_neg / (d_pos + d_neg))
    return out


# -- the coordinator ----------------------------------------------------------------------------
def expert_weights(
    assessments: list[Assessment],
    profiles: dict[str, ExpertProfile],
    relevance: dict[str, float],
    reliability: dict[str, float] | None = None,
) -> list[ExpertWeight]:
    """Reliability x relevance per usable expert. `reliability` (learned from operator outcomes,
    `experts.reliability.learned_reliability`) overrides the profile prior for those experts."""
    out = []
    for a in assessments:
        if a.status == "failed":
            continue
        rel = (reliability or {}).get(a.expert_id, profiles[a.expert_id].reliability_prior)
        notes = []
        if a.status == "fallback":
            rel *= 0.5
            notes.append("fallback assessment, halved")
        if a.hazmat_contradicts:
            rel *= 0.5
            notes.append("still contradicts HAZMAT reference data, halved")
        r = relevance.get(a.expert_id, 1.0)
        out.append(
            ExpertWeight(
                expert_id=a.expert_id,
                reliability=round(rel, 4),
                relevance=r,
                weight=round(rel * r, 4),
                note="; ".join(notes) or None,
            )
        )
    return out


def decide(
    scenario: Scenario,
    assessments: list[Assessment],
    profiles: dict[str, ExpertProfile],
    relevance: dict[str, float],
    config: AggregationConfig,
    reliability: dict[str, float] | None = None,
) -> Decision:
    ids = scenario.alternative_ids
    names = {a.id: a.name for a in scenario.available_actions}
    weights = expert_weights(assessments, profiles, relevance, reliability)
    usable = [a for a in assessments if a.status != "failed"]
    failed = [a.expert_id for a in assessments if a.status == "failed"]
    wmap = {w.expert_id: w.weight for w in weights}

    # Criteria weights: the experts' weights, averaged by their reliability x relevance.
    total_w = sum(wmap.values())
    crit = {c: 0.0 for c in CRITERIA}
    for a in usable:
        for c in CRITERIA:
            crit[c] += profiles[a.expert_id].criteria_weights[c] * wmap[a.expert_id]
    crit = (
        {c: v / total_w for c, v in crit.items()}
        if total_w > 0
        else {c: 1 / len(CRITERIA) for c in CRITERIA}
    )
    closeness = topsis(scenario, crit)

    dists = {a.expert_id: [a.beliefs[i] for i in ids] for a in usable}
    doctrine = doctrine_evidence(scenario, config.doctrine_temperature) if config.doctrine else None
    if doctrine is not None and not doctrine.informative:
        doctrine = None
    sources = dict(dists)
    if doctrine is not None:
        sources[DOCTRINE_ID] = [doctrine.beliefs[i] for i in ids]
        wmap = {**wmap, DOCTRINE_ID: config.doctrine_weight}
        total_w += config.doctrine_weight
        weights.append(
            ExpertWeight(
                expert_id=DOCTRINE_ID,
                reliability=config.doctrine_weight,
                relevance=1.0,
                weight=config.doctrine_weight,
                note="rule-based evidence: published doctrine applied to the scenario's facts, "
                "not a model",
            )
        )
    conflict_mass = 0.0
    if not sources:
        belief = [1 / len(ids)] * len(ids)
    elif config.method == "weighted":
        belief = [
            sum(wmap[e] * p[j] for e, p in sources.items()) / (total_w or 1.0)
            for j in range(len(ids))
        ]
        z = sum(belief) or 1.0
        belief = [b / z for b in belief]
    else:
        masses = [discount(p, min(wmap[e], 0.99)) for e, p in sources.items()]
        m = masses[0]
        for other in masses[1:]:
            m, k = combine(m, other, config.method)
            conflict_mass = 1 - (1 - conflict_mass) * (1 - k)
        belief = pignistic(m)

    top_share = [c / (sum(closeness) or 1.0) for c in closeness]
    bw = config.belief_weight
    scores = [bw * b + (1 - bw) * t for b, t in zip(belief, top_share, strict=True)]

    firsts: dict[str, list[str]] = {i: [] for i in ids}
    for a in usable:
        if a.recommended:
            firsts[a.recommended].append(a.expert_id)
    ranking = sorted(
        (
            RankedAlternative(
                alternative_id=i,
                name=names[i],
                score=round(s, 4),
                belief=round(b, 4),
                topsis=round(t, 4),
                first_choice_of=firsts[i],
            )
            for i, s, b, t in zip(ids, scores, belief, closeness, strict=True)
        ),
        key=lambda r: (-r.score, r.alternative_id),  # ties by id: listing order never decides
    )

    pairs = list(combinations(dists.items(), 2))
    divs = [(e1, e2, js_divergence(p1, p2)) for (e1, p1), (e2, p2) in pairs]
    consensus = 1.0 - (sum(d for *_, d in divs) / len(divs)) if divs else 1.0
    rec_of = {a.expert_id: a.recommended for a in usable}
    conflicts = [
        Conflict(
            experts=[e1, e2], choices=[rec_of[e1] or "", rec_of[e2] or ""], divergence=round(d, 4)
        )
        for e1, e2, d in divs
        if rec_of[e1] != rec_of[e2] and d >= config.conflict_threshold
    ]

    recommended = ranking[0].alternative_id if ranking else None
    unanimous = {a.recommended for a in usable if a.status == "ok"}
    overrides = len(usable) > 1 and len(unanimous) == 1 and recommended not in unanimous
    explanation = explain(
        scenario,
        ranking,
        crit,
        consensus,
        conflicts,
        weights,
        failed,
        overrides,
        unanimous.pop() if overrides else None,
        config,
        doctrine,
    )
    return Decision(
        recommended=recommended,
        ranking=ranking,
        consensus=round(consensus, 4),
        conflict_mass=round(conflict_mass, 4),
        conflicts=conflicts,
        method=config.method,
        weights=weights,
        criteria_weights={c: round(v, 4) for c, v in crit.items()},
        overrides_unanimous=overrides,
        explanation=explanation,
        doctrine=doctrine,
    )


def explain(
    scenario: Scenario,
    ranking: list[RankedAlternative],
    crit: dict[str, float],
    consensus: float,
    conflicts: list[Conflict],
    weights: list[ExpertWeight],
    failed: list[str],
    overrides: bool,
    unanimous_choice: str | None,
    config: AggregationConfig,
    doctrine: DoctrineEvidence | None = None,
) -> str:
    """A few sentences naming the reasons: who backed it, which criteria, agreement, caveats."""
    if not ranking:
        return "No alternatives to rank."
    top, parts = ranking[0], []
    backers = ", ".join(top.first_choice_of) or "no expert as first choice"
    parts.append(
        f"Recommended {top.alternative_id} ({top.name}) with score {top.score:.3f}: "
        f"combined expert "
        f"belief {top.belief:.3f} ({config.method} rule) and TOPSIS closeness {top.topsis:.3f}; "
        f"first choice of {backers}."
    )
    alt = scenario.alternative(top.alternative_id)
    strongest = sorted(CRITERIA, key=lambda c: -crit[c] * getattr(alt.criteria_scores, c))[:2]
    parts.append(
        "Its strongest weighted criteria are "
        + " and ".join(
            f"{c} {getattr(alt.criteria_scores, c):.2f} (weight {crit[c]:.2f})" for c in strongest
        )
        + "."
    )
    if len(ranking) > 1:
        second = ranking[1]
        parts.append(
            f"Runner-up {second.alternative_id} scored {second.score:.3f} "
            f"(belief {second.belief:.3f}, TOPSIS {second.topsis:.3f})."
        )
    parts.append(
        f"Consensus {consensus:.2f}"
        + (f"; {len(conflicts)} disagreeing pair(s)." if conflicts else ".")
    )
    if overrides and unanimous_choice:
        u = next(r for r in ranking if r.alternative_id == unanimous_choice)
        parts.append(
            f"NOTE: every expert put {unanimous_choice} first, but it ranks lower overall "
            "because its "
            f"TOPSIS closeness {u.topsis:.3f} is below {top.topsis:.3f} under the experts' "
            "own criteria "
            f"weights, which outweighs its belief {u.belief:.3f}; review before acting."
        )
    if doctrine is not None:
        names = {a.id: a.name for a in scenario.available_actions}
        parts.append(f"Doctrine rules (rule-based, not a model): {doctrine.summary(names)}.")
    low = [w for w in weights if w.note and w.expert_id != DOCTRINE_ID]
    for w in low:
        parts.append(f"{w.expert_id} was down-weighted ({w.note}).")
    if failed:
        parts.append(f"Failed experts, not counted: {', '.join(failed)}.")
    return " ".join(parts)
