"""Answer parsing and belief maths: valid ids by construction, invalid text detected."""

from __future__ import annotations

import pytest

from crisis_mas.experts.assessment import (
    beliefs_from_logprobs,
    confidence_of,
    doctrine_prior,
    parse_answer,
)
from crisis_mas.experts.profiles import load_profiles
from crisis_mas.experts.prompting import format_assessment
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

GOOD = format_assessment(
    "Fire spread towards Limni within two hours; the head cannot be stopped in this wind.",
    ["meltemi gusts", "single coastal road"],
    ["open the coastal road one way", "stage tankers at the village edge"],
    "action_x",
)


def test_list_sections_stop_at_the_first_non_bullet_line() -> None:
    text = GOOD.split("Recommended:")[0] + "People on beaches: 650\n- not an action\n"
    p = parse_answer(text)
    assert p is not None
    assert p.immediate_actions == [
        "open the coastal road one way",
        "stage tankers at the village edge",
    ]


def test_parses_the_trained_format() -> None:
    p = parse_answer(GOOD.split("Recommended:")[0])
    assert p is not None
    assert p.key_concerns == ["meltemi gusts", "single coastal road"]
    assert p.immediate_actions[0] == "open the coastal road one way"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1. 1. 1. 1.",
        "Rationale: ok\nKey concerns:\n- a\n",
        "Key concerns:\n- a\nImmediate actions:\n- b",
    ],
)
def test_rejects_invalid_answers(text: str) -> None:
    assert parse_answer(text) is None


def test_beliefs_cover_exactly_the_ids_and_sum_to_one() -> None:
    b = beliefs_from_logprobs(["a", "b", "c"], [-3.0, -6.0, -9.0], [3, 3, 3])
    assert list(b) == ["a", "b", "c"]
    assert sum(b.values()) == pytest.approx(1)
    assert b["a"] > b["b"] > b["c"]
    # length normalisation: a long id with the same mean log-prob ties with a short one
    b2 = beliefs_from_logprobs(["short", "long"], [-2.0, -8.0], [1, 4])
    assert b2["short"] == pytest.approx(b2["long"])


def test_confidence_bounds() -> None:
    assert confidence_of({"a": 0.5, "b": 0.5}) == pytest.approx(0)
    assert confidence_of({"a": 1.0, "b": 0.0}) == pytest.approx(1)


def test_doctrine_prior_is_a_distribution_over_the_scenario() -> None:
    s = load_scenario(bundled_scenarios_dir() / "elefsina_ammonia.json")
    p = doctrine_prior(load_profiles()["medical"], s)
    assert set(p) == set(s.alternative_ids)
    assert sum(p.values()) == pytest.approx(1)
