"""The calibration memo: content-free baselines are scored once, everything else every time."""

from __future__ import annotations

from crisis_mas.assess.baselines import BaselineMemo, baseline_key
from crisis_mas.pool.base import ModelPool
from crisis_mas.pool.types import AdapterRef, ChatMessage, ScoreRequest, ScoreResult


class CountingPool(ModelPool):
    """Scores each continuation by its length and the message text (enough to tell them apart)."""

    def __init__(self) -> None:
        self.sent: list[list[str]] = []

    def generate(self, requests):  # noqa: ANN001, ANN201
        raise NotImplementedError

    def score(self, requests: list[ScoreRequest]) -> list[ScoreResult]:
        self.sent.append([r.messages[-1].content for r in requests])
        return [
            ScoreResult(
                request_id=r.request_id,
                logprobs=[-float(len(c) + len(r.messages[-1].content)) for c in r.continuations],
                token_counts=[1] * len(r.continuations),
                prompt_tokens=10,
                latency_ms=5.0,
            )
            for r in requests
        ]

    def info(self):  # noqa: ANN201
        raise NotImplementedError


def _req(text: str, adapter: AdapterRef | None = None, **tags: str) -> ScoreRequest:
    return ScoreRequest(
        messages=[ChatMessage(role="user", content=text)],
        prefix="\nRecommended:",
        continuations=[" a", " bb"],
        adapter=adapter,
        tags=tags,
    )


def test_a_baseline_is_scored_once_and_answered_in_order() -> None:
    pool, memo = CountingPool(), BaselineMemo()
    fire = AdapterRef(name="fire", id=1, path="/a/fire")
    first = memo.score(pool, [_req("scenario 1", fire), _req("N/A", fire, run="1")], {1})
    again = memo.score(pool, [_req("scenario two", fire), _req("N/A", fire, run="2")], {1})
    # The second run sent only its own answer; its baseline came from the memo, same scores.
    assert pool.sent == [["scenario 1", "N/A"], ["scenario two"]]
    assert again[1].logprobs == first[1].logprobs
    assert again[0].logprobs != first[0].logprobs
    assert (again[1].prompt_tokens, again[1].latency_ms) == (0, 0.0)
    assert (memo.hits, memo.misses) == (1, 1)


def test_another_adapter_or_alternative_set_is_a_new_baseline() -> None:
    pool, memo = CountingPool(), BaselineMemo()
    v1 = AdapterRef(name="fire", id=1, path="/a/fire")
    v2 = AdapterRef(name="fire@v2", id=7, path="/a/fire-v2")
    memo.score(pool, [_req("N/A", v1)], {0})
    memo.score(pool, [_req("N/A", v2)], {0})
    other = _req("N/A", v1).model_copy(update={"continuations": [" a", " c"]})
    memo.score(pool, [other], {0})
    assert len(pool.sent) == 3 and len(memo) == 3
    # Tags (run id, expert) do not make a new entry.
    assert baseline_key(_req("N/A", v1, run="x")) == baseline_key(_req("N/A", v1, run="y"))


def test_the_memo_is_bounded() -> None:
    pool, memo = CountingPool(), BaselineMemo(size=2)
    for i in range(4):
        memo.score(pool, [_req(f"N/A {i}")], {0})
    assert len(memo) == 2
    memo.score(pool, [_req("N/A 0")], {0})  # evicted: scored again
    assert pool.sent[-1] == ["N/A 0"]


def test_score_answers_sends_each_baseline_once_across_runs() -> None:
    """Through the scoring stage itself: the second run scores its answers, not the baselines
    again (the memo starts empty, and an empty memo must still be used)."""
    from crisis_mas.assess.generation import ExpertCall
    from crisis_mas.assess.scoring import score_answers
    from crisis_mas.config import AppConfig
    from crisis_mas.experts.assessment import ParsedAnswer
    from crisis_mas.experts.profiles import load_profiles
    from crisis_mas.pool.types import GenerationResult
    from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

    cfg = AppConfig()
    cfg = cfg.model_copy(
        update={"agents": cfg.agents.model_copy(update={"catalogue_choice": False})}
    )
    profiles = [load_profiles()[e] for e in ("fire", "police")]
    base = load_scenario(bundled_scenarios_dir() / "evia_wildfire.json")
    pool, memo = CountingPool(), BaselineMemo()
    sent = []
    for run in ("r1", "r2"):
        scen = base.model_copy(update={"id": f"evia-{run}"})
        state = {
            p.id: ExpertCall(
                result=GenerationResult(request_id=run, text=f"Rationale: {run} {p.id}"),
                parsed=ParsedAnswer(
                    rationale="r" * 12, key_concerns=["c"], immediate_actions=["a"]
                ),
            )
            for p in profiles
        }
        out = score_answers(cfg, pool, scen, profiles, state, {}, run, {}, memo)
        assert [a.status for a in out] == ["ok", "ok"]
        sent.append(len(pool.sent[-1]))
    assert sent == [4, 2]  # answer + baseline per expert, then the answers alone
