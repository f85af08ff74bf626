"""Model-free tripwires for the server's async engine: a new request field cannot be silently
ignored by it (as `assistant_prefix` was once), and prefix-cache reads are checked."""

from __future__ import annotations

from crisis_mas.pool.types import GenerationRequest, SamplingConfig, ScoreRequest


def test_async_engine_knows_every_request_field() -> None:
    # If this fails, teach pool/backends/vllm_async.py the new field, then update the set.
    assert set(GenerationRequest.model_fields) == {
        "request_id",
        "messages",
        "adapter",
        "sampling",
        "assistant_prefix",
        "raw_prompt",
        "tags",
    }
    assert set(SamplingConfig.model_fields) == {
        "max_tokens",
        "temperature",
        "top_p",
        "repetition_penalty",
        "seed",
        "stop",
        "ignore_eos",
        "choices",
    }
    assert set(ScoreRequest.model_fields) == {
        "request_id",
        "messages",
        "prefix",
        "continuations",
        "adapter",
        "tags",
    }


def test_scores_read_from_the_prefix_cache_only_where_computed() -> None:
    from types import SimpleNamespace

    from crisis_mas.pool.backends.vllm_scoring import ScoreJob, token_logprobs

    def lp(x: float) -> SimpleNamespace:
        return SimpleNamespace(logprob=x)

    ids = [5, 6, 7, 8]
    job = ScoreJob(request=0, context=[5, 6], continuation=[7, 8])
    full = SimpleNamespace(
        prompt_token_ids=ids, prompt_logprobs=[None, {6: lp(0)}, {7: lp(-1)}, {8: lp(-2)}]
    )
    assert token_logprobs(full, job) == [-1, -2]
    gap = SimpleNamespace(
        prompt_token_ids=ids, prompt_logprobs=[None, {6: lp(0)}, None, {8: lp(-2)}]
    )
    assert token_logprobs(gap, job) == [None, -2]
    wrong = SimpleNamespace(
        prompt_token_ids=ids, prompt_logprobs=[None, {6: lp(0)}, {9: lp(0)}, {8: lp(-2)}]
    )
    assert token_logprobs(wrong, job) == [None, -2]
    none = SimpleNamespace(prompt_token_ids=ids, prompt_logprobs=None)
    assert token_logprobs(none, job) == [None, None]


def test_a_position_read_from_the_cache_is_filled_from_a_sibling() -> None:
    """Two continuations sharing their first token: the second read it from the cache, the first
    computed it; a third continuation of another request must not borrow it."""
    import pytest

    from crisis_mas.pool.backends.vllm_scoring import ScoreJob, fill_from_siblings, row_sums
    from crisis_mas.pool.base import ModelPoolError

    jobs = [
        ScoreJob(request=0, context=[1, 2], continuation=[7, 8]),
        ScoreJob(request=0, context=[1, 2], continuation=[7, 9]),
        ScoreJob(request=1, context=[3, 4], continuation=[7, 9]),
    ]
    rows = [[-1.0, -2.0], [None, -3.0], [None, -4.0]]
    assert fill_from_siblings(jobs, rows) == 1
    assert rows == [[-1.0, -2.0], [-1.0, -3.0], [None, -4.0]]
    assert row_sums(rows[:2]) == [-3.0, -4.0]
    with pytest.raises(ModelPoolError):
        row_sums(rows)  # what no sibling computed must be scored again, never summed as 0
