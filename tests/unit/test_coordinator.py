"""Coordinator maths on known inputs: evidential rules, TOPSIS, consensus, overrides, failures."""

from __future__ import annotations

import math

import pytest

from crisis_mas.coordinator.config import AggregationConfig
from crisis_mas.coordinator.decision import (
    combine,
    decide,
    discount,
    js_divergence,
    pignistic,
    topsis,
)
from crisis_mas.experts.assessment import Assessment
from crisis_mas.experts.profiles import load_profiles
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

SCEN = load_scenario(bundled_scenarios_dir() / "evia_wildfire.json")
IDS = SCEN.alternative_ids
PROFILES = load_profiles()


def _assess(expert: str, top: str, p_top: float = 0.6, status: str = "ok") -> Assessment:
    rest = (1 - p_top) / (len(IDS) - 1)
    beliefs = {i: (p_top if i == top else rest) for i in IDS}
    return Assessment(
        expert_id=expert,
        expert_name=expert,
        adapter=expert,
        status=status,
        beliefs=beliefs,
        recommended=top,
        confidence=0.5,
    )


def test_dempster_and_yager_on_a_hand_computed_case() -> None:
    m1 = ([0.6, 0.2], 0.2)
    m2 = ([0.1, 0.7], 0.2)
    # K = 0.6*0.7 + 0.2*0.1 = 0.44
    (d, d_theta), k = combine(m1, m2, "dempster")
    assert k == pytest.approx(0.44)
    a = 0.6 * 0.1 + 0.6 * 0.2 + 0.2 * 0.1  # 0.20
    b = 0.2 * 0.7 + 0.2 * 0.2 + 0.2 * 0.7  # 0.32
    assert d == pytest.approx([a / 0.56, b / 0.56])
    assert d_theta == pytest.approx(0.04 / 0.56)
    (y, y_theta), _ = combine(m1, m2, "yager")
    assert y == pytest.approx([a, b])
    assert y_theta == pytest.approx(0.04 + 0.44)  # conflict becomes ignorance
    assert sum(d) + d_theta == pytest.approx(1)
    assert sum(y) + y_theta == pytest.approx(1)


def test_discount_and_pignistic() -> None:
    m = discount([0.5, 0.5, 0.0], 0.8)
    assert m == (pytest.approx([0.4, 0.4, 0.0]), pytest.approx(0.2))
    assert pignistic(m) == pytest.approx([0.4 + 0.2 / 3, 0.4 + 0.2 / 3, 0.2 / 3])


def test_topsis_known_ranking() -> None:
    # With equal weights the alternative that dominates on every criterion must score 1.
    from crisis_mas.scenario import parse_scenario

    data = SCEN.model_dump()
    for k, a in enumerate(data["available_actions"]):
        v = 0.9 if k == 0 else 0.1 + 0.1 * k
        a["criteria_scores"] = dict.fromkeys(a["criteria_scores"], v)
    s = parse_scenario(data)
    c = topsis(
        s, dict.fromkeys(("effectiveness", "safety", "speed", "cost", "public_acceptance"), 0.2)
    )
    assert c[0] == pytest.approx(1.0)
    assert c[1] == pytest.approx(0.0)
    assert c == sorted(c, reverse=True)[:1] + c[1:] and c[2] < c[3] < c[4]


def test_js_divergence_bounds() -> None:
    assert js_divergence([1, 0], [1, 0]) == 0
    assert js_divergence([1, 0], [0, 1]) == pytest.approx(1.0)


@pytest.mark.parametrize("method", ["dempster", "yager", "weighted"])
def test_decision_is_a_ranking_with_explanation(method: str) -> None:
    cfg = AggregationConfig(method=method)
    a = [_assess("fire", IDS[0]), _assess("police", IDS[0]), _assess("medical", IDS[1])]
    d = decide(SCEN, a, PROFILES, {"fire": 1, "police": 1, "medical": 1}, cfg)
    assert {r.alternative_id for r in d.ranking} == set(IDS)
    assert math.isclose(sum(r.belief for r in d.ranking), 1, abs_tol=1e-3)
    assert d.ranking[0].score >= d.ranking[-1].score
    assert d.recommended == d.ranking[0].alternative_id
    assert d.recommended in d.explanation
    assert d.conflicts and {"fire", "medical"} <= set(d.conflicts[0].experts) | {"fire", "medical"}
    assert 0 <= d.consensus < 1


def test_identical_experts_reach_full_consensus() -> None:
    a = [_assess("fire", IDS[2]), _assess("police", IDS[2])]
    d = decide(SCEN, a, PROFILES, {}, AggregationConfig())
    assert d.consensus == pytest.approx(1.0)
    assert d.conflicts == []


def test_override_of_a_unanimous_choice_is_explained() -> None:
    # Weak beliefs (p_top barely above the rest) and belief_weight 0: TOPSIS alone decides, so the
    # unanimous first choice (the weakest alternative on the criteria) must be overridden, loudly.
    closeness = topsis(SCEN, PROFILES["fire"].criteria_weights)
    weakest = IDS[closeness.index(min(closeness))]
    a = [_assess(e, weakest, 0.3) for e in ("fire", "police", "medical")]
    d = decide(SCEN, a, PROFILES, {}, AggregationConfig(belief_weight=0.0))
    assert d.recommended != weakest
    assert d.overrides_unanimous
    assert f"every expert put {weakest} first" in d.explanation


def test_failed_and_fallback_experts_are_reported_not_dropped() -> None:
    failed = Assessment(
        expert_id="medical",
        expert_name="m",
        adapter="medical",
        status="failed",
        error="engine timeout",
    )
    a = [_assess("fire", IDS[0]), _assess("police", IDS[1], status="fallback"), failed]
    d = decide(SCEN, a, PROFILES, {}, AggregationConfig())
    assert "Failed experts, not counted: medical" in d.explanation
    w = {x.expert_id: x for x in d.weights}
    assert "medical" not in w
    assert w["police"].reliability == pytest.approx(PROFILES["police"].reliability_prior * 0.5)
    assert "police was down-weighted" in d.explanation


def test_doctrine_joins_as_a_labelled_rule_based_source() -> None:
    flat = [_assess(e, IDS[0], p_top=1 / len(IDS)) for e in ("fire", "police")]
    on = decide(SCEN, flat, PROFILES, {}, AggregationConfig())
    off = decide(SCEN, flat, PROFILES, {}, AggregationConfig(doctrine=False))
    assert off.doctrine is None and "doctrine" not in {w.expert_id for w in off.weights}
    assert on.doctrine is not None and on.doctrine.informative
    w = next(w for w in on.weights if w.expert_id == "doctrine")
    assert w.weight == 0.9 and "not a model" in (w.note or "")
    assert "Doctrine rules (rule-based, not a model)" in on.explanation
    # evia: the coastal road is closed by smoke and spotting reaches 800 m
    by = {r.alternative_id: r.belief for r in on.ranking}
    assert by["action_road_evacuation_south"] < by["action_ferry_evacuation_coast"]
    assert by["action_backfire_anchor_line"] < by["action_ferry_evacuation_coast"]
    assert "doctrine" not in {e for r in on.ranking for e in r.first_choice_of}


def test_silent_doctrine_adds_nothing() -> None:
    s = SCEN.model_copy(
        update={
            "type": "storm",
            "description": "x",
            "real_time_factors": {},
            "tags": [],
            "constraints": SCEN.constraints.model_copy(
                update={
                    "accessibility": None,
                    "additional_concerns": [],
                    "weather_conditions": None,
                    "resource_limitations": [],
                }
            ),
        }
    )
    a = [_assess("fire", IDS[1])]
    d = decide(s, a, PROFILES, {}, AggregationConfig())
    assert d.doctrine is None
    assert d == decide(s, a, PROFILES, {}, AggregationConfig(doctrine=False))


def test_exact_ties_go_to_the_smallest_id_not_the_listing_order() -> None:
    flat = [_assess("fire", IDS[0], p_top=1 / len(IDS))]
    s = SCEN.model_copy(update={"available_actions": list(reversed(SCEN.available_actions))})
    for scen in (SCEN, s):
        scen = scen.model_copy(
            update={
                "available_actions": [
                    a.model_copy(
                        update={"criteria_scores": SCEN.available_actions[0].criteria_scores}
                    )
                    for a in scen.available_actions
                ]
            }
        )
        d = decide(scen, flat, PROFILES, {}, AggregationConfig(doctrine=False))
        assert d.recommended == sorted(IDS)[0]
