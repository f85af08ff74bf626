"""Decisions that follow the facts, on the real engine (vLLM CPU, the embedded model and its LoRA
adapters, the default middleware chain with the response cache off):

- a flipped fact flips the decision on counterfactual pairs;
- permuting the alternatives leaves the recommendation and every belief unchanged;
- experts' catalogue actions come back well-formed from vLLM's guided decoding, with parameters
  taken from the scenario, and the transformers backend picks the same option;
- scoring reuses the generation's KV cache: the scoring stage costs a fraction of generation.
"""

from __future__ import annotations

import random

import pytest

from crisis_mas.assess import Assessor
from crisis_mas.config import AppConfig
from crisis_mas.evals.labels import load_suite
from crisis_mas.experts.catalogue import load_catalogue
from crisis_mas.pool.types import GenerationRequest, SamplingConfig
from crisis_mas.scenario import Scenario

pytestmark = pytest.mark.slow
SUITE = {x.scenario.id: x for x in load_suite("counterfactual")}
PAIRS = ("cf04", "cf09", "cf12")  # hazmat, earthquake, crowd: three different rule families


@pytest.fixture(scope="module")
def assessor() -> Assessor:
    # The default guard (rules and the learned detector): since round 5 it refuses none of
    # these scenarios (earlier rounds did: their false positives forced a rules-only guard here).
    cfg = AppConfig.model_validate({"ops": {"cache": {"enabled": False}}})
    a = Assessor(cfg)
    yield a
    a.close()


@pytest.fixture(scope="module")
def runs(assessor: Assessor) -> dict:
    out = {}
    for pair in PAIRS:
        for v in "ab":
            out[pair + v] = assessor.run(SUITE[pair + v].scenario, run_id=f"e2e-cf-{pair}{v}")
    return out


def test_a_flipped_fact_flips_the_decision(runs: dict) -> None:
    flipped = 0
    for pair in PAIRS:
        a, b = runs[pair + "a"], runs[pair + "b"]
        assert a.status == b.status == "ok"
        if a.decision.recommended != b.decision.recommended:
            flipped += 1
        for r in (a, b):
            assert r.decision.doctrine is not None  # the rule-based source spoke, and says so
            assert "rule-based, not a model" in r.decision.explanation
    assert flipped >= 1
    right = [runs[k].decision.recommended in SUITE[k].labels.acceptable for k in runs]
    assert sum(right) >= len(right) - 1, right


def test_the_model_experts_answer_and_are_scored(runs: dict) -> None:
    for r in runs.values():
        ok = [a for a in r.assessments if a.status == "ok"]
        assert ok, r.scenario_id
        for a in ok:
            assert abs(sum(a.beliefs.values()) - 1) < 1e-6
            assert set(a.beliefs) == set(SUITE[r.scenario_id].scenario.alternative_ids)


def test_catalogue_actions_come_back_well_formed(runs: dict) -> None:
    catalogue = load_catalogue()
    chosen = [c for r in runs.values() for a in r.assessments for c in a.catalogue_actions]
    assert chosen, "no expert chose a catalogue action"
    from crisis_mas.experts.doctrine.facts import extract_facts

    for r in runs.values():
        scen = SUITE[r.scenario_id].scenario
        text = scen.model_dump_json()
        erg = extract_facts(scen).hazmat.get("isolation_m")  # the ERG table's distance
        for a in r.assessments:
            for c in a.catalogue_actions:
                action = catalogue[c.id]
                assert c.owner == action.owner and c.source == action.source
                assert set(c.params) <= set(action.params)
                for place in c.places:
                    assert place in text
                for n in c.numbers:  # stated in the scenario (km given as m) or from ERG
                    assert n in text.replace(",", "") or int(n) % 1000 == 0 or int(n) == erg


def _permuted(s: Scenario, seed: int) -> Scenario:
    alts = list(s.available_actions)
    while alts == list(s.available_actions):
        random.Random(seed).shuffle(alts)
        seed += 1
    return s.model_copy(update={"available_actions": alts})


@pytest.mark.parametrize("sid", ["cf04a", "cf12b"])
def test_permuting_the_alternatives_changes_nothing(
    assessor: Assessor, runs: dict, sid: str
) -> None:
    base = runs[sid]
    other = assessor.run(_permuted(SUITE[sid].scenario, 7), run_id=f"e2e-perm-{sid}")
    assert other.decision.recommended == base.decision.recommended
    # The prompts are byte-identical; the second run reads them from vLLM's prefix cache, whose
    # bf16 numerics may differ in the last digits from a fresh prefill, hence a tolerance.
    for a, b in zip(base.assessments, other.assessments, strict=True):
        assert a.expert_id == b.expert_id and a.status == b.status
        if a.raw_text == b.raw_text:
            for k in a.beliefs:
                assert b.beliefs[k] == pytest.approx(a.beliefs[k], abs=0.02)


def test_transformers_picks_the_same_catalogue_option(assessor: Assessor) -> None:
    from crisis_mas.pool.backends.hf import HFPool

    options = [
        "protect.shelter_in_place",
        "protect.evacuate",
        "protect.isolate_cordon radius_m=600",
        "hazmat.water_spray_vapour",
    ]
    scen = SUITE["cf04a"].scenario
    from crisis_mas.experts.profiles import load_profiles
    from crisis_mas.experts.prompting import assessment_messages

    req = GenerationRequest(
        messages=assessment_messages(load_profiles()["hazmat"], scen),
        adapter=assessor.adapters.get("hazmat"),
        sampling=SamplingConfig(max_tokens=32, repetition_penalty=1.0, choices=options),
        assistant_prefix="Rationale: The cloud is over the houses.\nCatalogue action: ",
        tags={"kind": "catalogue", "expert": "hazmat", "run_id": "e2e-choice"},
    )
    via_vllm = assessor.pool.generate([req])[0].text[len(req.assistant_prefix) :]
    hf = HFPool(assessor.config.model, list(assessor.adapters.values()))
    try:
        via_hf = hf.generate([req])[0].text[len(req.assistant_prefix) :]
    finally:
        hf.close()
    assert via_vllm in options and via_hf in options
    assert via_vllm == via_hf
