"""Scenario schema and loader: the crisis_mas_poc format unchanged, extras kept, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crisis_mas.errors import InputError
from crisis_mas.scenario import load_scenario, parse_scenario

POC = {  # the crisis_mas_poc layout, including fields our schema does not name
    "id": "hazmat_001",
    "type": "hazmat",
    "name": "Ammonia Leak Emergency - Elefsina",
    "name_greek": "Διαρροή Αμμωνίας - Ελευσίνα",
    "description": "Tank rupture.",
    "severity": 0.85,
    "affected_population": 12000,
    "casualties": 8,
    "infrastructure_damage": False,
    "location": {"region": "Elefsina", "coordinates": {"lat": 38.04, "lon": 23.54}},
    "tags": ["hazmat"],
    "camera_feeds": [{"url": "x.png", "mode": "general"}],
    "available_actions": [
        {
            "id": f"action_{i}",
            "name": f"Action {i}",
            "description": "d",
            "required_resources": ["r"],
            "estimated_duration": "1 h",
            "risk_level": 0.3,
            "criteria_scores": {
                "effectiveness": 0.9,
                "safety": 0.8,
                "speed": 0.7,
                "cost": 0.4,
                "public_acceptance": 0.6,
            },
        }
        for i in range(3)
    ],
    "constraints": {"time_critical": True, "resource_limitations": [], "additional_concerns": []},
    "real_time_factors": {"leak_ongoing": True, "air_quality_readings": {"500m": "250 ppm"}},
    "metadata": {"version": "1.1"},
    "expert_selection": {
        "crisis_type": "hazmat",
        "command_structure_needed": {"tactical": True},
        "hazmat_specific": {
            "chemical": "Ammonia",
            "un_number": "UN1005",
            "idlh": "300 ppm",
            "decontamination_needed": True,
        },
    },
}


def test_poc_format_loads_and_keeps_extras(tmp_path: Path) -> None:
    f = tmp_path / "s.json"
    f.write_text(json.dumps(POC, ensure_ascii=False))
    s = load_scenario(f)
    assert s.alternative_ids == ["action_0", "action_1", "action_2"]
    dumped = s.model_dump()
    assert dumped["name_greek"] == "Διαρροή Αμμωνίας - Ελευσίνα"
    assert dumped["camera_feeds"][0]["url"] == "x.png"
    assert dumped["expert_selection"]["command_structure_needed"] == {"tactical": True}
    assert s.expert_selection.hazmat_specific.un_number == "UN1005"
    assert dumped["expert_selection"]["hazmat_specific"]["decontamination_needed"] is True


def test_yaml_loads(tmp_path: Path) -> None:
    import yaml

    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(POC, allow_unicode=True))
    assert load_scenario(f).id == "hazmat_001"


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.update(severity="high"), "severity"),
        (lambda d: d.update(severity=1.5), "severity"),
        (lambda d: d.update(available_actions=[]), "available_actions"),
        (lambda d: d.pop("available_actions"), "available_actions"),
        (lambda d: d["available_actions"][1].update(id="action_0"), "duplicate alternative ids"),
        (
            lambda d: d["available_actions"][0]["criteria_scores"].pop("cost"),
            "criteria_scores.cost",
        ),
        (lambda d: d["location"]["coordinates"].update(lat=123), "location.coordinates.lat"),
    ],
)
def test_bad_fields_are_named(mutate, needle: str) -> None:  # noqa: ANN001
    data = json.loads(json.dumps(POC))
    mutate(data)
    with pytest.raises(InputError) as exc:
        parse_scenario(data, "s.json")
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


def test_malformed_files(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"id": "x",\n "type": }')
    with pytest.raises(InputError, match=r"malformed JSON at line 2"):
        load_scenario(bad_json)
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("id: [unclosed\n")
    with pytest.raises(InputError, match="malformed YAML"):
        load_scenario(bad_yaml)
    with pytest.raises(InputError, match="not found"):
        load_scenario(tmp_path / "missing.json")
    top_list = tmp_path / "list.json"
    top_list.write_text("[1, 2]")
    with pytest.raises(InputError, match="expected an object"):
        load_scenario(top_list)
