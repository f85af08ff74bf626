"""Bundled scenarios: they load, carry enough distinct alternatives, and hazmat facts are right."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from crisis_mas.scenario import CRITERIA, Scenario, bundled_scenarios_dir, load_scenario

SCENARIO_FILES = sorted(bundled_scenarios_dir().glob("*.json"))
REQUIRED = {
    "evia_wildfire.json",
    "karditsa_flood.json",
    "elefsina_ammonia.json",
    "attica_earthquake.json",
    "rail_mci.json",
    "piraeus_chlorine.json",
}
# Facts checked against ERG 2024 (guide numbers) and NIOSH (IDLH).
HAZMAT_FACTS = {
    "elefsina_ammonia.json": {"un_number": "UN1005", "idlh": "300 ppm", "erg_guide": "125"},
    "piraeus_chlorine.json": {"un_number": "UN1017", "idlh": "10 ppm", "erg_guide": "124"},
}
ALT_ID = re.compile(r"^action_[a-z0-9_]+$")


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def test_required_scenarios_are_bundled() -> None:
    assert {p.name for p in SCENARIO_FILES} >= REQUIRED


def test_scenario_ids_are_unique() -> None:
    ids = [load_scenario(p).id for p in SCENARIO_FILES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=_ids(SCENARIO_FILES))
def test_scenario_loads_with_five_or_more_alternatives(path: Path) -> None:
    s = load_scenario(path)
    assert isinstance(s, Scenario)
    assert len(s.available_actions) >= 5
    assert len(set(s.alternative_ids)) == len(s.alternative_ids)
    assert all(ALT_ID.match(i) for i in s.alternative_ids), s.alternative_ids
    assert s.description and s.location.region and s.location.coordinates is not None
    assert s.constraints.weather_conditions and s.real_time_factors and s.metadata
    for a in s.available_actions:
        assert a.description and a.required_resources and a.risk_level is not None


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=_ids(SCENARIO_FILES))
def test_alternatives_trade_off(path: Path) -> None:
    """No alternative is Pareto-dominated, so the ranking depends on how criteria are weighed."""
    s = load_scenario(path)
    vecs = {a.id: a.criteria_scores.vector() for a in s.available_actions}
    for a, va in vecs.items():
        for b, vb in vecs.items():
            if a != b:
                assert not all(y >= x for x, y in zip(va, vb, strict=True)), f"{b} dominates {a}"
    # Each criterion's best alternative is not always the same one.
    best = {max(vecs, key=lambda i, k=k: vecs[i][k]) for k in range(len(CRITERIA))}
    assert len(best) >= 2


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=_ids(SCENARIO_FILES))
def test_hazmat_scenarios_carry_identifiers(path: Path) -> None:
    s = load_scenario(path)
    hz = s.expert_selection.hazmat_specific
    if s.type != "hazmat":
        return
    assert hz is not None and hz.chemical
    assert hz.un_number and re.fullmatch(r"UN\d{4}", hz.un_number)
    assert hz.idlh and hz.idlh.endswith("ppm")
    assert hz.hazard_class


@pytest.mark.parametrize("name", sorted(HAZMAT_FACTS))
def test_hazmat_facts(name: str) -> None:
    hz = load_scenario(bundled_scenarios_dir() / name).expert_selection.hazmat_specific
    assert hz is not None
    for field, value in HAZMAT_FACTS[name].items():
        assert getattr(hz, field) == value, field


def test_elefsina_ammonia_matches_brief() -> None:
    s = load_scenario(bundled_scenarios_dir() / "elefsina_ammonia.json")
    h = s.expert_selection.hazmat_specific
    assert h is not None
    assert h.chemical == "Anhydrous Ammonia (NH3)"
    assert h.hazard_class == "2.3 (Toxic gas) + 8 (Corrosive)"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=_ids(SCENARIO_FILES))
def test_extra_fields_survive_round_trip(path: Path) -> None:
    """Greek names and other extras must not be dropped by the schema."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    dumped = load_scenario(path).model_dump()
    assert dumped.get("name_greek") == raw.get("name_greek")
    assert dumped["location"].get("region_greek") == raw["location"].get("region_greek")
