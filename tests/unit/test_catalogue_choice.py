"""Catalogue options for constrained decoding: every number and place in an option comes from
the scenario or the reference tables, and only an exact option parses back into an action."""

from __future__ import annotations

import re

import pytest

from crisis_mas.evals.labels import load_suite
from crisis_mas.experts.catalogue import load_catalogue
from crisis_mas.experts.catalogue.choice import options_for, parse_choice
from crisis_mas.experts.doctrine.facts import extract_facts, situation_text
from crisis_mas.experts.profiles import load_profiles
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

SCENARIOS = [load_scenario(p) for p in sorted(bundled_scenarios_dir().glob("*.json"))]
SCENARIOS += [x.scenario for x in load_suite("counterfactual")[::5]]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_every_option_parses_and_its_values_are_grounded(scenario) -> None:  # noqa: ANN001
    facts = extract_facts(scenario)
    iso = facts.hazmat.get("isolation_m")
    text = situation_text(scenario)
    numbers = {int(float(m.replace(",", "."))) for m in re.findall(r"\d+(?:[.,]\d+)?", text)}
    numbers |= {
        int(float(m.replace(",", ".")) * 1000) for m in re.findall(r"(\d+(?:[.,]\d+)?)\s*km", text)
    }
    for expert in load_profiles():
        options = options_for(scenario, expert, iso)
        assert len(options) == len(set(options)) <= 400
        for o in options:
            c = parse_choice(o, options)
            assert c is not None and c.id in load_catalogue() and c.text == o
            for place in c.places:
                assert place in text, (o, place)
            for n in c.numbers:
                assert int(n) in numbers or int(n) == iso, (o, n)


def test_only_an_exact_option_parses() -> None:
    s = load_scenario(bundled_scenarios_dir() / "piraeus_chlorine.json")
    iso = extract_facts(s).hazmat.get("isolation_m")
    options = options_for(s, "police", iso)
    cordon = next(o for o in options if o.startswith("isolate_cordon "))
    c = parse_choice(cordon, options)
    assert c is not None and c.id == "protect.isolate_cordon" and c.owner == "police"
    assert c.number_params == ["radius_m"] and c.params["radius_m"] == int(cordon.split()[1])
    assert "radius_m" in c.describe()
    assert iso == 60 and "isolate_cordon 60" in options  # ERG UN1017 small spill
    assert parse_choice(cordon + " ", options) is not None  # whitespace around is fine
    assert parse_choice("isolate_cordon 999999", options) is None
    assert parse_choice("Evacuate everyone now", options) is None
