"""The recommendation does not depend on the order alternatives are listed in.

A fake pool with a strong position bias stands in for the engine (the maths of the pipeline:
canonical prompt order, scoring, calibration, doctrine evidence, combination, ranking); every
bundled and counterfactual scenario is run as listed and with its alternatives permuted.
tests/e2e/test_counterfactual_e2e.py checks a few of them on the real engine.
"""

from __future__ import annotations

import hashlib
import random
import re

import pytest

from crisis_mas.assess import Assessor
from crisis_mas.config import AppConfig
from crisis_mas.evals.labels import load_suite
from crisis_mas.experts.prompting import format_assessment
from crisis_mas.pool.base import ModelPool
from crisis_mas.pool.types import GenerationResult, ModelInfo, ScoreResult
from crisis_mas.scenario import Scenario

SCENARIOS = [x.scenario for suite in ("bundled", "counterfactual") for x in load_suite(suite)]


class PositionBiasedPool(ModelPool):
    """Answers mention the first alternative listed in the prompt; scores fall with an id's
    place in the prompt's list and vary with the whole prompt (as a real model's would), so any
    listing order that reached a prompt would change the beliefs."""

    def generate(self, requests):  # noqa: ANN001, ANN201
        out = []
        for r in requests:
            if r.sampling.choices:
                k = int(hashlib.sha256(r.messages[-1].content.encode()).hexdigest(), 16)
                text = r.sampling.choices[k % len(r.sampling.choices)]
            else:
                first = _listed(r.messages[-1].content)[0]
                text = format_assessment(
                    f"Listed first is {first}; we act on the scenario facts.",
                    ["the first listed option"],
                    [f"consider {first}"],
                    first,
                ).split("Recommended:")[0]
            out.append(GenerationResult(request_id=r.request_id, text=r.assistant_prefix + text))
        return out

    def score(self, requests):  # noqa: ANN001, ANN201
        out = []
        for r in requests:
            listed = _listed(r.messages[-1].content)
            seed = int(hashlib.sha256((r.messages[-1].content + r.prefix).encode()).hexdigest(), 16)
            noise = random.Random(seed)
            lps = [-0.7 * listed.index(c.strip()) - 0.3 * noise.random() for c in r.continuations]
            out.append(
                ScoreResult(request_id=r.request_id, logprobs=lps, token_counts=[3] * len(lps))
            )
        return out

    def info(self) -> ModelInfo:
        return ModelInfo(base="fake", backend="position-biased")


def _listed(user: str) -> list[str]:
    block = user.split("ALTERNATIVES:\n", 1)[1]
    return re.findall(r"^- ([^:\n]+): ", block, re.M)


def _permuted(s: Scenario, seed: int) -> Scenario:
    alts = list(s.available_actions)
    random.Random(seed).shuffle(alts)
    if alts == list(s.available_actions):
        alts = alts[1:] + alts[:1]
    return s.model_copy(update={"available_actions": alts})


@pytest.fixture(scope="module")
def assessor() -> Assessor:
    cfg = AppConfig.model_validate(
        {"model": {"use_adapters": False}, "ops": {"chain": []}, "rag": {"enabled": False}}
    )
    return Assessor(cfg, pool=PositionBiasedPool())


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_permuting_alternatives_leaves_the_decision_unchanged(
    assessor: Assessor, scenario: Scenario
) -> None:
    base = assessor.run(scenario, run_id="r")
    ranked = [(x.alternative_id, x.score) for x in base.decision.ranking]
    beliefs = {a.expert_id: a.beliefs for a in base.assessments}
    for seed in (1, 2):
        other = assessor.run(_permuted(scenario, seed), run_id="r")
        assert other.decision.recommended == base.decision.recommended
        assert [(x.alternative_id, x.score) for x in other.decision.ranking] == ranked
        assert {a.expert_id: a.beliefs for a in other.assessments} == beliefs


def test_the_fake_pool_is_order_sensitive_without_canonical_order() -> None:
    """Guard for the test itself: listed in another order, its scores do change."""
    pool = PositionBiasedPool()
    from crisis_mas.pool.types import ChatMessage, ScoreRequest

    def req(order: list[str]) -> ScoreRequest:
        user = "ALTERNATIVES:\n" + "".join(f"- {i}: x\n" for i in order)
        return ScoreRequest(
            messages=[ChatMessage(role="user", content=user)],
            continuations=[" a", " b"],
        )

    a, b = pool.score([req(["a", "b"]), req(["b", "a"])])
    assert (a.logprobs[0] > a.logprobs[1]) != (b.logprobs[0] > b.logprobs[1])
