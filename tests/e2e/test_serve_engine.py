"""The server's async engine must give the same answers as the CLI's offline `VLLMPool`.

Both run the requests the real pipeline builds (chat template, prefilled answer start, per-expert
LoRA, scoring continuations). A model-free tripwire fails when the request types gain a field,
so a new request feature cannot silently be ignored by the server (as `assistant_prefix` was once).
"""

from __future__ import annotations

import asyncio

import pytest

from crisis_mas.assess import Assessor
from crisis_mas.config import AppConfig
from crisis_mas.pool.base import ModelPool, ModelPoolError
from crisis_mas.pool.types import (
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    ScoreRequest,
)
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario


class _Recorder(ModelPool):
    """Keeps the pipeline's requests; answers nothing useful (the test replays them)."""

    def __init__(self) -> None:
        self.requests: list[GenerationRequest] = []

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        self.requests += requests
        return [GenerationResult(request_id=r.request_id, text="") for r in requests]

    def score(self, requests: list[ScoreRequest]) -> list:
        raise ModelPoolError("not used")

    def info(self) -> ModelInfo:
        return ModelInfo(base="recorder", backend="recorder")


@pytest.mark.slow
def test_async_engine_matches_the_offline_pool() -> None:
    from crisis_mas.pool.backends.vllm import VLLMPool
    from crisis_mas.pool.backends.vllm_async import AsyncEngine

    cfg = AppConfig.model_validate(
        {
            "model": {"kv_cache_memory_bytes": 128 * 1024 * 1024},
            "rag": {"enabled": False},
            "ops": {"chain": []},
        }
    )
    scenario = load_scenario(bundled_scenarios_dir() / "evia_wildfire.json")
    rec = _Recorder()
    assessor = Assessor(cfg, pool=rec, experts=["fire", "police"])
    assessor.run(scenario, ["fire", "police"])
    gen = [
        r.model_copy(update={"sampling": r.sampling.model_copy(update={"max_tokens": 24})})
        for r in rec.requests[:1]
    ]
    assert gen[0].adapter is not None and gen[0].assistant_prefix  # the shipped fire adapter
    score = [
        ScoreRequest(
            messages=r.messages,
            prefix=r.assistant_prefix + " The wind is rising.\nRecommended:",
            continuations=[f" {i}" for i in scenario.alternative_ids[:2]],
            adapter=r.adapter,
        )
        for r in gen
    ]
    bare = [r.model_copy(update={"adapter": None}) for r in score]
    gen = gen + [gen[0].model_copy(update={"adapter": None})]  # a base-model row in the batch
    adapters = [r.adapter for r in gen if r.adapter is not None]

    async def serve() -> tuple[list, list, tuple]:  # one event loop, as in a Serve replica
        g = await engine.generate(gen, 600)
        s = await engine.score(score, 600)
        # the same prompts again: the prefix cache now holds the continuations themselves, so
        # the engine must notice and compute them (not return logprobs it never computed)
        again = await engine.score(score, 600)
        assert again[0].logprobs == pytest.approx(s[0].logprobs, abs=0.1 * max(s[0].token_counts))
        # generation and scoring of other requests in flight together, as under HTTP load:
        # the engine batches them (numerics may differ slightly, so only sanity is checked)
        mixed = await asyncio.gather(engine.generate(gen, 600), engine.score(bare, 600))
        return g, s, mixed

    engine = AsyncEngine(cfg.model, adapters)
    engine.start()
    try:
        served, served_scores, (mixed_gen, base_scores) = asyncio.run(serve())
    finally:
        engine.shutdown()
    pool = VLLMPool(cfg.model, adapters)
    try:
        offline = pool.generate(gen)
        offline_scores = pool.score(score)
        # the served fire answer, after its prompt, under the fire adapter vs the base model
        prefix = gen[0].assistant_prefix
        served_text = served[0].text.removeprefix(prefix)
        own, base = pool.score(
            [
                ScoreRequest(
                    messages=gen[0].messages, prefix=prefix, continuations=[served_text], adapter=a
                )
                for a in (gen[0].adapter, None)
            ]
        )
    finally:
        pool.close()

    for a, b in zip(served, offline, strict=True):
        # Same prompt tokens and the same trained opening. The greedy text itself is not compared:
        # bf16 sums in another process or batch shape flip near-ties (seen with the shipped fire
        # adapter at token 8, "south-west" vs "southwards", in either direction).
        assert a.prompt_tokens == b.prompt_tokens
        assert a.text.startswith(prefix) and b.text.startswith(prefix)
        assert a.completion_tokens == b.completion_tokens
    # the server really applied the fire adapter: its answer is far likelier with it than without
    assert own.logprobs[0] > base.logprobs[0] + 1.0, (own.logprobs, base.logprobs)
    for a, b in zip(served_scores, offline_scores, strict=True):
        assert a.token_counts == b.token_counts
        # per token: chunked prefill splits long prompts differently when requests arrive one by
        # one (bf16 on CPU), so sums over a continuation differ by a few hundredths per token
        per_token = [x / n for x, n in zip(a.logprobs, a.token_counts, strict=True)]
        expected = [x / n for x, n in zip(b.logprobs, b.token_counts, strict=True)]
        assert per_token == pytest.approx(expected, abs=0.1)
    assert all(g.text.startswith(gen[0].assistant_prefix) for g in mixed_gen)
    # the adapter is applied when scoring (the LoRA layers are restricted, not dropped)
    assert served_scores[0].logprobs != pytest.approx(base_scores[0].logprobs, abs=0.5)
