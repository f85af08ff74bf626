"""The operator console in a real headless Chromium (Debian's, via selenium) against the real
app on a real socket: real run store, job store, guardrails, retrieval (FAISS + the bundled
embedder) and SSE; only the model-pool replica is the stand-in of `standin_app` (slowed down so
the experts' progress can be watched). The real-engine walk is in tests/e2e/test_serve_http.py.

A user: picks a bundled scenario, watches the experts live, reads the decision chart, the belief
bars and an assessment with its citations (opening a cited passage), leaves feedback; pastes a
bad scenario and sees its field errors; uploads a YAML one; compares two runs; checks adapters,
health and alerts; and on a server with a token, is asked for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser import available, chromium
from standin_app import LiveServer, StandInHandle, serve

from crisis_mas.scenario import bundled_scenarios_dir

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))

# Records every stage an expert row shows, as the page updates it (proves the view is live).
WATCH = """
window.__stages = [];
new MutationObserver(() => {
  for (const r of document.querySelectorAll('[data-testid=expert-row]'))
    window.__stages.push(r.dataset.expert + ':' + r.dataset.stage);
}).observe(document.getElementById('live'), {subtree: true, childList: true, attributes: true});
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    srv = serve(tmp_path_factory.mktemp("console"), StandInHandle(delay_s=0.4), rag=True)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium(1280, 1000) as driver:
        yield driver


def _wait(browser, cond, timeout: float = 60):  # noqa: ANN001, ANN202
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(cond)


def _open(browser, url: str) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    browser.get("about:blank")  # a fresh page even when only the #route would change
    browser.get(url)
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))


def _css(browser, selector: str) -> list:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, selector)


def test_walk_scenario_live_decision_citation_feedback(live: LiveServer, browser) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _open(browser, f"{live.url}/console/#/assess")
    Select(browser.find_element(By.ID, "bundled")).select_by_value("evia_wildfire")
    _wait(browser, lambda d: d.find_element(By.ID, "scenario-text").get_attribute("value"))
    browser.find_element(By.ID, "experts").send_keys("fire,police,medical")
    browser.execute_script(WATCH)
    browser.find_element(By.ID, "run").click()

    # the experts' rows move through their stages while the run goes on
    _wait(browser, lambda d: _css(d, "[data-testid=decision]"))
    stages = browser.execute_script("return window.__stages")
    for expert in ("fire", "police", "medical"):
        seen = [s.split(":")[1] for s in stages if s.startswith(expert + ":")]
        assert "generating" in seen and "done" in seen, (expert, seen)
        assert seen.index("generating") < seen.index("done")
    rows = _css(browser, "[data-testid=expert-row]")
    assert {r.get_attribute("data-expert") for r in rows} == {"fire", "police", "medical"}
    assert all(r.get_attribute("data-status") == "ok" for r in rows)

    # the decision: the recommended action by name, the ranking chart, the belief bars
    scenario = json.loads((bundled_scenarios_dir() / "evia_wildfire.json").read_text())
    names = {a["id"]: a["name"] for a in scenario["available_actions"]}
    run_id = browser.find_element(By.CSS_SELECTOR, ".run").get_attribute("data-run")
    report = httpx.get(f"{live.url}/v1/runs/{run_id}").json()
    recommended = browser.find_element(By.CSS_SELECTOR, "[data-testid=recommended]").text
    assert recommended == names[report["decision"]["recommended"]]
    bars = _css(browser, "[data-testid=ranking-chart] g.bar")
    assert [b.get_attribute("data-alternative") for b in bars] == [
        a["alternative_id"] for a in report["decision"]["ranking"]
    ]
    experts = _css(browser, "[data-testid=belief-bars] g.expert-beliefs")
    assert {e.get_attribute("data-expert") for e in experts} == {"fire", "police", "medical"}
    assert "Dissent" in browser.find_element(By.CSS_SELECTOR, "[data-testid=dissent]").text

    # an assessment with its citations; a citation opens the cited passage
    card = _css(browser, "[data-testid=assessment][data-expert=fire]")[0]
    link = card.find_elements(By.CSS_SELECTOR, "[data-testid=citations] button.citation")[0]
    chunk = link.get_attribute("data-chunk")
    browser.execute_script("arguments[0].scrollIntoView()", link)
    link.click()
    _wait(browser, lambda d: d.find_element(By.ID, "passage-text").text not in ("", "loading…"))
    passage = httpx.get(f"{live.url}/v1/passages/{chunk.replace('#', '%23')}").json()
    shown = browser.find_element(By.ID, "passage-text").text
    assert shown.split()[:8] == passage["text"].split()[:8]
    browser.find_element(By.ID, "passage-close").click()

    # operator feedback on this run
    form = browser.find_element(By.CSS_SELECTOR, "[data-testid=feedback-form]")
    browser.execute_script("arguments[0].scrollIntoView()", form)
    second = report["decision"]["ranking"][1]["alternative_id"]
    Select(form.find_element(By.CSS_SELECTOR, "select[name=outcome]")).select_by_value(second)
    form.find_element(By.CSS_SELECTOR, "input[name=note]").send_keys("road stayed open")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    status = "[data-testid=feedback-status]"
    _wait(browser, lambda d: "recorded" in d.find_element(By.CSS_SELECTOR, status).text)
    assert second in browser.find_element(By.CSS_SELECTOR, status).text
    from crisis_mas.store import open_store

    got = [f for f in open_store(live.state.config.store).feedback.latest() if f.run_id == run_id]
    assert [f.outcome for f in got] == [second] and got[0].note == "road stayed open"


def test_bad_scenario_shows_every_field_error(live: LiveServer, browser) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    _open(browser, f"{live.url}/console/#/assess")
    bad = {
        "id": "x",
        "type": "wildfire",
        "name": "Bad",
        "severity": 3,
        "colour": "red",
        "available_actions": [
            {
                "id": "a",
                "name": "A",
                "criteria_scores": {
                    "effectiveness": 0.5,
                    "safety": 2,
                    "speed": 0.5,
                    "cost": 0.5,
                    "public_acceptance": 0.5,
                },
            },
            {"id": "b", "name": "B"},
        ],
    }
    jobs_before = len(httpx.get(f"{live.url}/v1/jobs").json()["jobs"])
    area = browser.find_element(By.ID, "scenario-text")
    area.clear()
    area.send_keys(json.dumps(bad))
    browser.find_element(By.ID, "run").click()
    _wait(browser, lambda d: _css(d, "[data-testid=field-error]"))
    errors = {
        e.get_attribute("data-field"): e.text for e in _css(browser, "[data-testid=field-error]")
    }
    assert set(errors) == {
        "severity",
        "available_actions.0.criteria_scores.safety",
        "available_actions.1.criteria_scores",
    }
    assert "less than or equal to 1" in errors["severity"]
    warnings = [w.get_attribute("data-field") for w in _css(browser, "[data-testid=field-warning]")]
    assert warnings == ["colour"]
    assert (
        "invalid: 3 error(s)"
        in browser.find_element(By.CSS_SELECTOR, "[data-testid=validity]").text
    )
    assert len(httpx.get(f"{live.url}/v1/jobs").json()["jobs"]) == jobs_before  # never submitted


def test_uploaded_yaml_scenario_is_validated(live: LiveServer, browser, tmp_path: Path) -> None:  # noqa: ANN001
    import yaml
    from selenium.webdriver.common.by import By

    data = json.loads((bundled_scenarios_dir() / "karditsa_flood.json").read_text())
    path = tmp_path / "flood.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    _open(browser, f"{live.url}/console/#/assess")
    browser.find_element(By.ID, "scenario-file").send_keys(str(path))
    _wait(browser, lambda d: _css(d, "[data-testid=validity]"))
    text = browser.find_element(By.CSS_SELECTOR, "[data-testid=validity]").text
    assert text == f"valid scenario {data['id']}"


def test_history_and_two_runs_side_by_side(live: LiveServer, browser) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    scen = json.loads((bundled_scenarios_dir() / "rail_mci.json").read_text())
    ids = [
        httpx.post(
            f"{live.url}/v1/assessments", json={"scenario": scen, "experts": e}, timeout=60
        ).json()["run_id"]
        for e in (["fire", "medical"], ["police"])
    ]
    _open(browser, f"{live.url}/console/#/runs")
    _wait(browser, lambda d: _css(d, "[data-testid=run-row]"))
    shown = [r.get_attribute("data-run") for r in _css(browser, "[data-testid=run-row]")]
    assert shown[:2] == ids[::-1]  # newest first
    links = [a.text for a in _css(browser, "[data-testid=run-row] td.mono a")]
    assert ids[0] in links and ids[1] in links  # whole run ids
    for box in _css(browser, "[data-testid=pick-run]")[:2]:
        box.click()
    browser.find_element(By.ID, "compare").click()
    _wait(browser, lambda d: len(_css(d, "[data-testid=compare-side]")) == 2)
    sides = [s.get_attribute("data-run") for s in _css(browser, "[data-testid=compare-side]")]
    assert sorted(sides) == sorted(ids)
    assert _css(browser, "[data-testid=compare-side] [data-testid=ranking-chart]")
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=compare-verdict]").text


def test_adapters_health_and_alerts(live: LiveServer, browser) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    _open(browser, f"{live.url}/console/#/adapters")
    _wait(browser, lambda d: _css(d, "[data-testid=rollouts]"))
    assert (
        "No rollout in progress"
        in browser.find_element(By.CSS_SELECTOR, "[data-testid=rollouts]").text
    )
    _open(browser, f"{live.url}/console/#/health")
    _wait(browser, lambda d: _css(d, "[data-testid=health-status]"))
    components = {
        c.find_elements(By.TAG_NAME, "td")[0].text: c.get_attribute("data-status")
        for c in _css(browser, "[data-testid=component]")
    }
    assert components["model_pool"] == "ok" and "vector_index" in components
    assert _css(browser, "[data-testid=alerts]")


def test_console_asks_for_the_token(tmp_path: Path, browser) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    srv = serve(tmp_path, StandInHandle(), token="s3cret")
    try:
        assert httpx.get(f"{srv.url}/console/").status_code == 200  # the page itself is public
        assert httpx.get(f"{srv.url}/v1/scenarios").status_code == 401  # the API is not
        browser.get(f"{srv.url}/console/#/runs")
        _wait(browser, lambda d: d.find_element(By.ID, "token-panel").is_displayed())
        browser.find_element(By.ID, "token-input").send_keys("s3cret")
        browser.find_element(By.CSS_SELECTOR, "#token-form button").click()
        _wait(browser, lambda d: "History" in d.find_element(By.ID, "view").text)
        assert not browser.find_element(By.ID, "token-panel").is_displayed()
    finally:
        srv.stop()


def test_adapters_view_shows_a_canary_with_its_arms(tmp_path: Path, browser) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    from crisis_mas.rollout.registry import Registry

    srv = serve(tmp_path, StandInHandle())
    try:
        cfg = srv.state.config
        reg = Registry(cfg.store, cfg.rollout)
        for tag in ("a", "b"):
            reg.register(
                {
                    "expert": "fire",
                    "base": cfg.model.base,
                    "path": str(tmp_path / f"fire-{tag}"),
                    "data_sha256": tag * 8,
                    "training": {"r": 8},
                    "final_loss": 0.25,
                }
            )
        reg.activate("fire", 1)
        reg.start("fire", 2, "canary", 0.3)
        _open(browser, f"{srv.url}/console/#/adapters")
        _wait(browser, lambda d: _css(d, "[data-testid=rollouts] tbody tr"))
        row = [td.text for td in _css(browser, "[data-testid=rollouts] tbody tr td")]
        assert row[:4] == ["fire", "canary 30%", "v2", "v1"], row
        assert "n 0" in row[4] and row[5].startswith(("hold", "continue"))
        versions = _css(browser, "[data-testid=versions] tbody tr")
        assert len(versions) == 2
        assert "0.250" in browser.find_element(By.CSS_SELECTOR, "[data-testid=versions]").text
    finally:
        srv.stop()
