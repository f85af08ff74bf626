"""Counterfactual-suite metrics on known inputs: ties share credit, pairs need both members
right, chance levels, the per-expert ablation."""

from __future__ import annotations

import pytest

from crisis_mas.evals.counterfactual import hit, summarise
from crisis_mas.evals.labels import load_suite


def test_hit_credits_ties_fractionally() -> None:
    assert hit({"a": 0.6, "b": 0.4}, ["a"]) == 1.0
    assert hit({"a": 0.4, "b": 0.6}, ["a"]) == 0.0
    assert hit({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, ["a"]) == pytest.approx(1 / 3)
    assert hit({}, ["a"]) == 0.0


def test_pairs_need_both_members_right() -> None:
    rows = [
        ("p1", "0", True, 1 / 3, {"fire": [1.0, 1 / 3]}, 1.0),
        ("p1", "0", True, 1 / 3, {"fire": [0.0, 1 / 3]}, 1.0),
        ("p2", "0", True, 1 / 3, {"fire": [1.0, 1 / 3]}, None),
        ("p2", "0", False, 1 / 3, {}, 0.0),
    ]
    c = summarise(rows)
    assert c is not None
    assert (c.scenarios_right, c.n_scenarios, c.pairs_both_right, c.n_pairs) == (3, 4, 1, 2)
    assert c.chance_scenarios == pytest.approx(1 / 3, abs=1e-3)
    assert c.chance_pairs == pytest.approx(1 / 9, abs=1e-3)
    assert c.doctrine_right_rate == pytest.approx(2 / 3, abs=1e-3) and c.doctrine_silent == 1
    f = c.experts["fire"]
    assert f.n == 3 and f.beliefs_right_rate == pytest.approx(2 / 3, abs=1e-3)
    assert f.prior_right_rate == pytest.approx(1 / 3, abs=1e-3)
    assert summarise([]) is None


def test_the_frozen_suite_is_paired_and_neutral() -> None:
    items = load_suite("counterfactual")
    pairs: dict[str, list] = {}
    for it in items:
        pairs.setdefault(it.labels.pair, []).append(it)
    assert len(pairs) >= 12 and all(len(v) == 2 for v in pairs.values())
    assert len({it.scenario.type for it in items}) >= 6
    for a, b in pairs.values():
        assert a.scenario.available_actions == b.scenario.available_actions
        assert set(a.labels.acceptable).isdisjoint(b.labels.acceptable)
        vectors = {tuple(x.criteria_scores.vector()) for x in a.scenario.available_actions}
        assert len(vectors) == 1 and a.labels.doctrine
