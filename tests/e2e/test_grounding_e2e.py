"""Grounding and honest outcomes on the real engine (vLLM CPU, the embedded model and its LoRA
adapters, the default middleware chain): an answer naming a place nothing grounds is flagged
and kept out of the commander's summary; a full run's report carries per-expert grounding,
sources once and the demonstration notice; an engine setting the engine refuses ends the run
as failed (exit 1, stored as failed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli

from crisis_mas.assess import Assessor
from crisis_mas.config import AppConfig
from crisis_mas.experts.profiles import load_profiles
from crisis_mas.experts.prompting import assessment_messages
from crisis_mas.middleware.grounding import reference_for
from crisis_mas.pool.types import GenerationRequest, SamplingConfig
from crisis_mas.report.model import Report
from crisis_mas.safety.grounding import check
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

pytestmark = pytest.mark.slow
SCEN = load_scenario(bundled_scenarios_dir() / "karditsa_flood.json")
INVENTED = "Kalovrysi"  # no such place in the scenario, the knowledge base or the gazetteer


@pytest.fixture(scope="module")
def assessor() -> Assessor:
    cfg = AppConfig.model_validate({"ops": {"cache": {"enabled": False}}})
    a = Assessor(cfg, experts=["fire", "police", "medical"])
    yield a
    a.close()


def test_an_answer_with_an_invented_place_is_flagged(assessor: Assessor) -> None:
    fire = load_profiles()["fire"]
    req = GenerationRequest(
        messages=assessment_messages(fire, SCEN),
        adapter=assessor.adapters.get("fire"),
        sampling=SamplingConfig(max_tokens=24),
        # The answer starts by naming a place the prompt never gave: the model continues it.
        assistant_prefix=f"Rationale: Move every resident of Palamas to {INVENTED} harbour",
        tags={"kind": "assessment", "expert": "fire", "run_id": "e2e-grounding"},
    )
    assert INVENTED not in req.messages[-1].content
    res = assessor.pool.generate([req])[0]
    assert res.completion_tokens > 0 and res.text.startswith("Rationale: Move")
    flagged = [f for f in res.flags if f["type"] == "ungrounded_claim"]
    assert INVENTED in {f["item"] for f in flagged}, res.flags
    assert "Palamas" not in {f["item"] for f in flagged}  # the scenario gives that one


def test_a_full_run_reports_grounding_sources_and_the_notice(assessor: Assessor) -> None:
    r = assessor.run(SCEN, ["fire", "police", "medical"])
    assert r.status in ("ok", "degraded")
    assert r.notice and "not operational advice" in r.notice
    for a in r.assessments:
        ids = [c.doc_id for c in a.citations]
        assert len(ids) == len(set(ids)), a.expert_id  # each source once per expert
    assert len({c.doc_id for c in r.sources}) == len(r.sources) > 0
    answered = [a for a in r.assessments if a.status != "failed"]
    assert answered and set(r.grounding) == {a.expert_id for a in answered}
    # What reaches the commander's summary passes the check against that expert's request.
    items = r.summary.concerns + r.summary.actions
    for item in items:
        a = next(x for x in answered if x.expert_id == item.expert_id)
        assert item.text in a.key_concerns + a.immediate_actions
    for a in answered:
        g = r.grounding[a.expert_id]
        assert g.claims >= g.grounded and (g.rate is None or 0 <= g.rate <= 1)
        flagged = {f["item"] for f in a.flags if f["type"] == "ungrounded_claim"}
        shown = [i.text for i in items if i.expert_id == a.expert_id]
        assert not any(f in t for f in flagged for t in shown if f not in SCEN.description)


def test_the_summary_check_matches_the_link(assessor: Assessor) -> None:
    """The Assessor re-checks the final answer with the same reference the link read."""
    fire = load_profiles()["fire"]
    req = GenerationRequest(messages=assessment_messages(fire, SCEN), tags={"kind": "assessment"})
    ref = reference_for(req)
    assert all(c.grounded for c in check("Evacuate Palamas and Karditsa", ref))
    assert not all(c.grounded for c in check(f"Evacuate {INVENTED}", ref))


def test_an_engine_setting_the_engine_refuses_fails_the_run(tmp_path: Path) -> None:
    # Every assessment prompt is longer than a 256-token context: the engine refuses each one.
    cfg = tmp_path / "small-context.yaml"
    cfg.write_text("model:\n  max_model_len: 256\nops:\n  cache:\n    enabled: false\n")
    r = run_cli(
        "run",
        "karditsa_flood",
        "-c",
        str(cfg),
        "--experts",
        "fire,police",
        "--json",
        "-o",
        str(tmp_path / "o"),
    )
    assert r.returncode == 1, r.stderr[-3000:]
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "no expert answered" in errors[0]
    report = Report.model_validate_json(r.stdout)
    assert report.status == "failed" and report.decision.recommended is None
    shown = run_cli("runs", "show", report.run_id, "--json", timeout=120)
    assert json.loads(shown.stdout)["status"] == "failed"
