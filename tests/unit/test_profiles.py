"""Expert profiles: they validate, the required commanders exist, and selection stays focused."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import yaml

from crisis_mas.experts.profiles import PROFILES_DIR, ExpertProfile, load_profiles
from crisis_mas.scenario import CRITERIA, Scenario, bundled_scenarios_dir, load_scenario

PROFILE_FILES = sorted(PROFILES_DIR.glob("*.yaml"))
REQUIRED = {"fire", "police", "medical"}
KB_DOMAINS = {"fire", "police", "medical", "hazmat", "civil_protection", "flood", "coordination"}
GREEK = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")


def select(profiles: dict[str, ExpertProfile], s: Scenario) -> list[str]:
    """The runtime selector (crisis_mas.experts.selection), as documented in docs/experts.md."""
    from crisis_mas.experts.selection import select_experts

    return [sel.expert_id for sel in select_experts(s)]


@pytest.fixture(scope="module")
def profiles() -> dict[str, ExpertProfile]:
    return load_profiles()


def test_required_profiles_exist(profiles: dict[str, ExpertProfile]) -> None:
    assert set(profiles) >= REQUIRED
    assert len(profiles) >= 7


def test_ids_unique_and_match_file_names() -> None:
    ids = [yaml.safe_load(f.read_text(encoding="utf-8"))["id"] for f in PROFILE_FILES]
    assert len(ids) == len(set(ids))
    assert ids == [f.stem for f in PROFILE_FILES]


@pytest.mark.parametrize("path", PROFILE_FILES, ids=[p.stem for p in PROFILE_FILES])
def test_profile_content(path: Path, profiles: dict[str, ExpertProfile]) -> None:
    p = profiles[path.stem]
    assert GREEK.search(p.persona_name), "persona_name should be Greek"
    assert p.persona.startswith("You ") and 2 <= p.persona.count(". ") + 1 <= 4
    assert 5 <= len(p.doctrine) <= 8
    assert set(p.domains) <= KB_DOMAINS
    assert any(GREEK.search(k) for k in p.keywords), "needs Greek keyword cues"
    assert any(not GREEK.search(k) for k in p.keywords), "needs English keyword cues"
    assert 0 < p.reliability_prior <= 1


@pytest.mark.parametrize("path", PROFILE_FILES, ids=[p.stem for p in PROFILE_FILES])
def test_weights_normalised(path: Path, profiles: dict[str, ExpertProfile]) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["criteria_weights"]
    assert set(raw) == set(CRITERIA)
    assert math.isclose(sum(raw.values()), 1.0, abs_tol=1e-9), "write weights that sum to 1"
    assert math.isclose(sum(profiles[path.stem].criteria_weights.values()), 1.0)


def test_safety_first_services_are_cautious(profiles: dict[str, ExpertProfile]) -> None:
    """Hazmat and medical weigh safety highest and accept less risk than the fire commander."""
    for eid in ("hazmat", "medical"):
        w = profiles[eid].criteria_weights
        assert max(w, key=w.get) == "safety"
        assert profiles[eid].risk_tolerance < profiles["fire"].risk_tolerance


SCENARIOS = sorted(bundled_scenarios_dir().glob("*.json"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_each_bundled_scenario_selects_three_to_five(
    path: Path, profiles: dict[str, ExpertProfile]
) -> None:
    chosen = select(profiles, load_scenario(path))
    assert 3 <= len(chosen) <= 5, chosen


def test_selection_examples(profiles: dict[str, ExpertProfile]) -> None:
    d = bundled_scenarios_dir()
    evia = set(select(profiles, load_scenario(d / "evia_wildfire.json")))
    assert evia >= REQUIRED and "coast_guard" in evia
    assert "hazmat" in select(profiles, load_scenario(d / "elefsina_ammonia.json"))
    assert "seismic" in select(profiles, load_scenario(d / "attica_earthquake.json"))
    assert "seismic" not in select(profiles, load_scenario(d / "evia_wildfire.json"))


def test_every_expert_is_selected_somewhere(profiles: dict[str, ExpertProfile]) -> None:
    used = {e for p in SCENARIOS for e in select(profiles, load_scenario(p))}
    assert used == set(profiles)
