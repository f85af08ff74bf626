"""The doctrine catalogue, the facts read from a scenario, and the rule-based evidence source.

Scenarios here are built in the test from one base, with one fact changed at a time, so the
tests show what each rule reads; the eval suites measure how well it generalises.
"""

from __future__ import annotations

import itertools

import pytest

from crisis_mas.experts.catalogue import (
    SERVICES,
    families_of,
    load_catalogue,
    match_alternative,
)
from crisis_mas.experts.doctrine import doctrine_evidence, load_rules
from crisis_mas.experts.doctrine.facts import extract_facts
from crisis_mas.experts.doctrine.triage import casualty_label, start_colour
from crisis_mas.experts.textmatch import any_cue, fold
from crisis_mas.scenario import Alternative, Scenario, bundled_scenarios_dir, load_scenario

NEUTRAL = {c: 0.5 for c in ("effectiveness", "safety", "speed", "cost", "public_acceptance")}


def _alt(i: str, name: str, desc: str) -> dict:
    return {"id": i, "name": name, "description": desc, "criteria_scores": NEUTRAL}


def _scenario(description: str, type_: str = "hazmat", **extra: object) -> Scenario:
    data = {
        "id": "t1",
        "type": type_,
        "name": "Test incident",
        "description": description,
        "severity": 0.6,
        "available_actions": [
            _alt("a_shelter", "Shelter in place", "Residents stay indoors and close windows."),
            _alt("b_evacuate", "Evacuate by bus", "Police move residents out by bus."),
            _alt("c_hose", "Hose the leak", "Engines direct water streams onto the leaking tank."),
        ],
        **extra,
    }
    return Scenario.model_validate(data)


def test_folding_and_negation() -> None:
    assert fold("Εκκένωση ΟΙΚΙΣΜΟΥ") == "εκκενωση οικισμου"
    assert any_cue(fold("Η εκκένωση ξεκινά"), ["εκκενωσ"])
    text = fold("Water curtains to knock down vapour, without spraying water onto the tank.")
    assert not any_cue(text, [r"water[^.]{0,10}onto the tank"])
    assert any_cue(text, ["water curtains?"])


def test_catalogue_is_well_formed() -> None:
    cat = load_catalogue()
    assert len(cat) >= 40
    for a in cat.values():
        assert a.owner in SERVICES and set(a.partners) <= set(SERVICES)
        assert "knowledge:" in a.source or "ERG" in a.source or "NWCG" in a.source
    rules = load_rules()
    assert all(set(r.favour) | set(r.oppose) <= set(cat) for r in rules)


@pytest.mark.parametrize(
    "path", sorted(bundled_scenarios_dir().glob("*.json")), ids=lambda p: p.stem
)
def test_bundled_alternatives_are_recognised(path) -> None:  # noqa: ANN001
    s = load_scenario(path)
    assert families_of(s), s.id
    matched = [a.id for a in s.available_actions if match_alternative(a)]
    assert len(matched) >= len(s.available_actions) - 2  # at most two bespoke ones per scenario


def test_negated_wording_does_not_match_an_action() -> None:
    alt = Alternative.model_validate(
        _alt(
            "x",
            "Water curtain",
            "Set water curtains, without spraying water onto the leaking tank.",
        )
    )
    got = match_alternative(alt)
    assert "hazmat.water_spray_vapour" in got and "hazmat.water_on_source" not in got


def test_facts_from_text_and_real_time_factors() -> None:
    s = _scenario(
        "A chlorine cylinder leaked; the cloud has already drifted over the houses.",
        real_time_factors={"flame_length_m": "15-20", "fire_front_distance_km": 3},
        constraints={"weather_conditions": "wind 5-6 Beaufort"},
        expert_selection={"hazmat_specific": {"chemical": "Chlorine", "un_number": "UN1017"}},
    )
    f = extract_facts(s)
    assert f.get("flame_length_m") == 20 and f.get("front_distance_km") == 3
    assert f.get("wind_bft") == 6 and f.get("plume_over_people") and f.get("tih")
    assert f.get("toxic_gas") and f.hazmat["guides"] == [124]


def test_a_flipped_fact_flips_the_doctrine() -> None:
    hz = {"hazmat_specific": {"chemical": "Chlorine", "un_number": "UN1017"}}
    short = _scenario(
        "A small chlorine cylinder leaked; the release will stop within 10 minutes.",
        expert_selection=hz,
    )
    long = _scenario(
        "A chlorine rail tank car is leaking steadily and will continue for many hours; the "
        "cloud is expected at the village in 60 minutes.",
        expert_selection=hz,
    )
    d1, d2 = doctrine_evidence(short), doctrine_evidence(long)
    assert d1.recommended == "a_shelter" and d2.recommended == "b_evacuate"
    assert d1.support["c_hose"] < 0 and d2.support["c_hose"] < 0  # ERG: no water on the leak
    assert {h.rule_id for h in d1.rules} >= {"erg_shelter_short_release", "erg_no_water_on_leak"}
    assert all(h.source for h in d1.rules)


def test_doctrine_is_silent_when_no_rule_applies() -> None:
    s = _scenario("Something happened.", type_="storm")
    d = doctrine_evidence(s)
    assert not d.informative and d.recommended is None and d.rules == []


def test_doctrine_ignores_the_listing_order() -> None:
    s = load_scenario(bundled_scenarios_dir() / "evia_wildfire.json")
    base = doctrine_evidence(s)
    assert base.informative
    for perm in itertools.islice(itertools.permutations(s.available_actions), 0, 720, 97):
        d = doctrine_evidence(s.model_copy(update={"available_actions": list(perm)}))
        assert d.beliefs == base.beliefs and d.recommended == base.recommended


@pytest.mark.parametrize(
    ("text", "colour"),
    [
        ("walking around, cut forearm", "green"),
        ("cannot walk, breathing 34 times a minute", "red"),
        (
            "cannot walk, breathing 20 times a minute, radial pulse present, follows commands",
            "yellow",
        ),
        ("not breathing, even after the airway was opened", "black"),
        ("started breathing when the airway was opened", "red"),
        ("lying down, no radial pulse", "red"),
        ("capillary refill 4 s, breathing 22 per minute", "red"),
    ],
)
def test_start_colours(text: str, colour: str) -> None:
    assert start_colour(text) == colour


def test_casualty_named_by_an_alternative() -> None:
    assert casualty_label("Transport the van driver first") == "van driver"
    assert casualty_label("Open all gates") is None
