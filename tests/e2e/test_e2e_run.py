"""End-to-end: `crisis-mas run` on the real embedded model through the vLLM CPU engine, with one
trained LoRA adapter per expert, real FAISS retrieval, and the default middleware chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli

from crisis_mas.report.model import Report
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def evia_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, Path, str]:
    out = tmp_path_factory.mktemp("evia")
    r = run_cli(
        "run", "evia_wildfire", "--experts", "fire,police,medical", "--out", str(out), "--json"
    )
    assert r.returncode == 0, r.stderr[-3000:]
    for noise in ("WARNING", "INFO", "vllm", "Triton"):  # nothing from the engines
        assert noise not in r.stderr, r.stderr[-3000:]
    return Report.model_validate_json(r.stdout), out, r.stdout


def test_stdout_is_exactly_the_report(evia_run: tuple[Report, Path, str]) -> None:
    report, out, stdout = evia_run
    assert json.loads(stdout)["run_id"] == report.run_id  # nothing else on stdout
    on_disk = Report.model_validate_json((out / "report.json").read_text())
    assert on_disk == report
    md = (out / "report.md").read_text()
    assert "## Recommended action" in md and report.decision.recommended in md
    top = report.decision.ranking[0].name
    assert f"**{top}**" in md.partition("\n---\n")[0]  # by name, on the first page
    html = (out / "report.html").read_text()
    assert "<svg" in html and top in html.replace("&#x27;", "'")


def test_engine_logs_stay_out_of_the_terminal(evia_run: tuple[Report, Path, str]) -> None:
    _, out, _ = evia_run
    log = (out / "engine.log").read_text()
    assert "vLLM" in log or "vllm" in log  # the engine's own output went to the run's log


def test_report_is_valid_and_complete(evia_run: tuple[Report, Path, str]) -> None:
    report, _, _ = evia_run
    scen = load_scenario(bundled_scenarios_dir() / "evia_wildfire.json")
    ids = set(scen.alternative_ids)
    assert report.scenario_id == scen.id
    assert report.model.backend == "vllm"
    assert [a.expert_id for a in report.assessments] == ["fire", "police", "medical"]
    for a in report.assessments:
        assert a.adapter == a.expert_id  # one distinct trained adapter per expert
        assert a.status in ("ok", "fallback")
        assert set(a.beliefs) == ids
        assert abs(sum(a.beliefs.values()) - 1) < 1e-6
        assert a.recommended in ids
        assert 0 <= a.confidence <= 1
        assert a.tokens.prompt > 0 and a.tokens.completion > 0 and a.latency_ms > 0
        assert a.raw_text.startswith("Rationale:")  # real generation, prefilled format
        if a.status == "fallback":  # a fallback is marked and explained, never silent
            assert "doctrine prior" in a.fallback_reason
    d = report.decision
    assert d.recommended in ids
    assert {r.alternative_id for r in d.ranking} == ids
    assert d.explanation and d.recommended in d.explanation
    assert 0 <= d.consensus <= 1
    assert report.timings["total_ms"] > 0


def test_experts_outputs_differ(evia_run: tuple[Report, Path, str]) -> None:
    report, _, _ = evia_run
    texts = {a.raw_text for a in report.assessments}
    assert len(texts) == len(report.assessments)  # each adapter wrote its own answer
    beliefs = [tuple(round(v, 6) for v in a.beliefs.values()) for a in report.assessments]
    assert len(set(beliefs)) == len(beliefs)  # and each expert has its own distribution


def test_assessments_carry_citations(evia_run: tuple[Report, Path, str]) -> None:
    report, _, _ = evia_run
    for a in report.assessments:
        assert a.citations, a.expert_id
        assert all(c.doc_id and c.title for c in a.citations)


def test_run_is_in_the_store(evia_run: tuple[Report, Path, str]) -> None:
    report, _, _ = evia_run
    listed = run_cli("runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert report.run_id in [r["run_id"] for r in json.loads(listed.stdout)]
    shown = run_cli("runs", "show", report.run_id, "--json")
    assert shown.returncode == 0
    assert Report.model_validate_json(shown.stdout) == report
