"""The routes the console reads (scenarios, validation, a run's brief and rendered report,
passages, alerts) and the console's static files, on the real app with a stand-in model pool."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from standin_app import StandInHandle, make_state

from crisis_mas.scenario import bundled_scenarios_dir
from crisis_mas.service.api import create_api


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    state = make_state(tmp_path, StandInHandle(), token="tok")
    with TestClient(create_api(state)) as c:
        c.headers["authorization"] = "Bearer tok"
        yield c
    state.close()


def _scenario(name: str = "evia_wildfire") -> dict:
    return json.loads((bundled_scenarios_dir() / f"{name}.json").read_text())


def test_scenarios_list_get_schema_and_validate(client: TestClient) -> None:
    names = [s["name"] for s in client.get("/v1/scenarios").json()["scenarios"]]
    assert "evia_wildfire" in names and len(names) == len(
        list(bundled_scenarios_dir().glob("*.json"))
    )
    assert client.get("/v1/scenarios/evia_wildfire").json() == _scenario()
    missing = client.get("/v1/scenarios/atlantis")
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "name"
    assert "available_actions" in client.get("/v1/scenarios/schema").json()["properties"]
    ok = client.post("/v1/scenarios/validate", json={"text": yaml.safe_dump(_scenario())}).json()
    assert ok["valid"] and ok["scenario_id"] == "fire_001"
    bad = _scenario()
    bad["severity"], bad["available_actions"][0]["criteria_scores"]["cost"] = -1, "cheap"
    got = client.post("/v1/scenarios/validate", json={"scenario": bad}).json()
    assert not got["valid"]
    assert {e["field"] for e in got["errors"]} == {
        "severity",
        "available_actions.0.criteria_scores.cost",
    }
    both = client.post("/v1/scenarios/validate", json={"scenario": {}, "text": "x"})
    assert both.status_code == 422 and "exactly one" in both.json()["error"]["message"]
    broken = client.post("/v1/scenarios/validate", json={"text": "{oops", "format": "json"})
    assert broken.json()["errors"][0]["field"] == "(file)"


def test_brief_and_rendered_report_of_a_run(client: TestClient) -> None:
    report = client.post("/v1/assessments", json={"scenario": _scenario()}).json()
    run = report["run_id"]
    brief = client.get(f"/v1/runs/{run}/brief").json()
    top = report["decision"]["ranking"][0]
    assert brief["recommended_name"] == top["name"] and len(brief["why"]) == 2
    assert brief["confidence_level"] in ("high", "moderate", "low")
    assert all(isinstance(service, str) for service, _ in brief["actions"])
    html = client.get(f"/v1/runs/{run}/report")
    assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text
    md = client.get(f"/v1/runs/{run}/report", params={"format": "md", "lang": "el"})
    assert md.headers["content-type"].startswith("text/markdown")
    assert "## Προτεινόμενη ενέργεια" in md.text
    assert client.get(f"/v1/runs/{run}/report", params={"lang": "fr"}).status_code == 422
    assert client.get(f"/v1/runs/{run}/report", params={"format": "pdf"}).status_code == 422
    assert client.get("/v1/runs/nope/brief").status_code == 404


def test_passages_need_the_knowledge_base_and_alerts_answer(client: TestClient) -> None:
    r = client.get("/v1/passages/erg%23guide-125")  # rag.enabled is false here
    assert r.status_code == 503 and "rag.enabled" in r.json()["error"]["message"]
    assert client.get("/v1/alerts").json()["alerts"] == []


def test_console_files_are_public_and_confined(client: TestClient) -> None:
    anonymous = TestClient(client.app)
    page = anonymous.get("/console/")
    assert page.status_code == 200 and '<script type="module"' in page.text
    js = anonymous.get("/console/js/main.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert anonymous.get("/console", follow_redirects=False).status_code in (302, 307)
    assert anonymous.get("/v1/scenarios").status_code == 401  # the API still needs the token
    for path in ("/console/../pyproject.toml", "/console/js/../../routers/console.py"):
        assert client.get(path).status_code in (401, 404)
    assert client.get("/console/nope.js").status_code == 404
