"""The optional pairwise judge: both orders cancel position bias, equal word budgets, valid
verdicts from likelihoods (a scripted pool stands in for the judge model)."""

from __future__ import annotations

from evalkit import make_report, scenario

from crisis_mas.evals.judge import equal_budget, judge_pairs, summarise
from crisis_mas.pool.base import ModelPool
from crisis_mas.pool.types import ModelInfo, ScoreResult

S = scenario("elefsina_ammonia")
GOOD, BAD = "action_shelter_in_place_downwind", "action_evacuate_downwind_sector"


class PositionBiased(ModelPool):
    """Always prefers response 1, whatever it says."""

    def generate(self, requests):  # noqa: ANN001, ANN201
        raise NotImplementedError

    def score(self, requests):  # noqa: ANN001, ANN201
        return [
            ScoreResult(request_id=r.request_id, logprobs=[-0.1, -3.0], token_counts=[1, 1])
            for r in requests
        ]

    def info(self) -> ModelInfo:
        return ModelInfo(base="judge", backend="scripted")


class KnowsDoctrine(PositionBiased):
    """Prefers the response that recommends shelter-in-place, plus a mild position-1 bias."""

    def score(self, requests):  # noqa: ANN001, ANN201
        out = []
        for r in requests:
            text = r.messages[-1].content
            first = text.split("Response 2:")[0]
            good_first = f"Recommended: {GOOD}" in first
            lp = [-0.5, -2.5] if good_first else [-1.8, -0.6]
            out.append(ScoreResult(request_id=r.request_id, logprobs=lp, token_counts=[1, 1]))
        return out


def _pair() -> tuple:
    a = make_report(S, BAD, rationale="x")
    b = make_report(S, GOOD, rationale="x")
    return S, a, b


def test_position_bias_cancels_to_a_tie() -> None:
    js = judge_pairs(PositionBiased(), [_pair()])
    assert js[0].p_b_first > 0.9 and js[0].p_b_second < 0.1
    assert js[0].winner == "tie" and abs(js[0].p_b - 0.5) < 1e-6


def test_judge_prefers_doctrine_in_both_orders() -> None:
    s, a, b = _pair()
    js = judge_pairs(KnowsDoctrine(), [(s, a, b), (s, b, a)], seed=3)
    assert [j.winner for j in js] == ["B", "A"]
    summ = summarise(js)
    assert summ.wins_a == 1 and summ.wins_b == 1 and summ.ties == 0


def test_equal_word_budget() -> None:
    s, a, b = _pair()
    longer = b.model_copy(
        update={"decision": b.decision.model_copy(update={"explanation": "word " * 500})}
    )
    x, y = equal_budget(a, longer, max_words=60)
    assert len(x.split()) == len(y.split()) <= 60
