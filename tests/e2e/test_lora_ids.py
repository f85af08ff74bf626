"""Rollout candidates of two experts with the same version, `fire@v2` and `police@v2`, in ONE
batch on the real vLLM engine: each row runs its own adapter.

vLLM caches LoRA weights by int id. Candidate ids used to be `1000 + version`, so both were 1002
and the engine ran whichever adapter it loaded first for both rows. Ids now come from the store's
adapter-id registry (unique per name). The check compares likelihoods, not greedy text: the same
answer scored under fire@v2, police@v2 and the base model in one batch must equal the scores of
the same rows one at a time, and the two adapters must score it differently.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from crisis_mas.config import AppConfig
from crisis_mas.experts.profiles import get_profiles
from crisis_mas.experts.prompting import assessment_messages
from crisis_mas.paths import REPO_ROOT
from crisis_mas.pool.types import AdapterRef, ScoreRequest
from crisis_mas.rollout.shadow import candidate_ref
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

pytestmark = pytest.mark.slow

SHIPPED = REPO_ROOT / "adapters" / "smollm2-135m-instruct"
SCEN = load_scenario(bundled_scenarios_dir() / "elefsina_ammonia.json")
ANSWER = (
    "Rationale: The ammonia plume drifts toward the town; shelter in place downwind and keep "
    "responders upwind.\nKey concerns:\n- toxic exposure\n- panic on the roads\n"
)


@pytest.fixture(scope="module")
def candidates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AdapterRef]:
    """The shipped fire and police adapters, copied as each expert's version 2."""
    root = tmp_path_factory.mktemp("v2")
    refs = {}
    for expert in ("fire", "police"):
        dst = root / f"{expert}-v2"
        shutil.copytree(SHIPPED / expert, dst)
        refs[expert] = candidate_ref(expert, 2, str(dst), root / "store.db")
    return refs


@pytest.fixture(scope="module")
def pool(candidates: dict[str, AdapterRef]) -> Iterator:
    from crisis_mas.pool.backends.vllm import VLLMPool

    p = VLLMPool(AppConfig().model, list(candidates.values()))
    p.start()
    yield p
    p.close()


def _tolerance(tokens: int) -> float:
    # bf16 sums over a different batch shape move a log-likelihood a little (as in test_backends)
    return 0.05 * tokens + 0.1


def test_fire_v2_and_police_v2_in_one_batch_each_run_their_own_adapter(  # noqa: ANN001
    candidates: dict[str, AdapterRef], pool
) -> None:
    fire, police = candidates["fire"], candidates["police"]
    assert (fire.name, police.name) == ("fire@v2", "police@v2")
    assert fire.id != police.id  # the old scheme gave both 1000 + 2
    messages = assessment_messages(get_profiles(["fire"])[0], SCEN)
    rows = [
        ScoreRequest(messages=messages, continuations=[ANSWER], adapter=ref)
        for ref in (fire, police, None)
    ]
    batched = pool.score(rows)  # one engine batch, two LoRA rows and a base row
    alone = [pool.score([r])[0] for r in rows]
    got = [b.logprobs[0] for b in batched]
    tol = _tolerance(batched[0].token_counts[0])
    for b, a in zip(batched, alone, strict=True):
        assert abs(b.logprobs[0] - a.logprobs[0]) <= tol, (got, [x.logprobs[0] for x in alone])
    lp_fire, lp_police, lp_base = got
    # each adapter changed the row it was given, and not in the same way
    assert abs(lp_fire - lp_police) > 2 * tol, got
    # and each moved it off the base model by more than batch noise (the fire adapter moves
    # this answer by ~4 nats in CI, so the bar is one tolerance here, not two)
    assert abs(lp_fire - lp_base) > tol and abs(lp_police - lp_base) > tol, got

    # Control, the old scheme: police's files under fire's id run fire's cached weights, which
    # is the failure the checks above would catch.
    clash = police.model_copy(update={"name": "police@v2-clash", "id": fire.id})
    (res,) = pool.score([rows[1].model_copy(update={"adapter": clash})])
    assert abs(res.logprobs[0] - lp_fire) <= tol < abs(res.logprobs[0] - lp_police), (
        res.logprobs[0],
        got,
    )
