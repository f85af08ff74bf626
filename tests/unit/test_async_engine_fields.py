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

    from crisis_mas.pool.backends.vllm_async import _has_logprobs

    ids = [5, 6, 7, 8]
    full = SimpleNamespace(prompt_token_ids=ids, prompt_logprobs=[None, {6: 0}, {7: 0}, {8: 0}])
    assert _has_logprobs(full, 2)
    gap = SimpleNamespace(prompt_token_ids=ids, prompt_logprobs=[None, {6: 0}, None, {8: 0}])
    assert _has_logprobs(gap, 3) and not _has_logprobs(gap, 2)
    wrong = SimpleNamespace(prompt_token_ids=ids, prompt_logprobs=[None, {6: 0}, {9: 0}, {8: 0}])
    assert not _has_logprobs(wrong, 1)
    assert not _has_logprobs(SimpleNamespace(prompt_token_ids=ids, prompt_logprobs=None), 1)
