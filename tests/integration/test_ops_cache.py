"""Response cache on both real backends (SQLite file, real redis-server) around a fake pool.

Covers exact keys, TTL by request kind, never-cache rules, versioned invalidation, stats/clear,
score caching, semantic hits with near-miss traps (real MiniLM), and Redis killed mid-run.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from crisis_mas.config import AppConfig
from crisis_mas.middleware.cache import hit_info
from crisis_mas.middleware.cache.middleware import CacheLink, cache_stats, clear_cache
from crisis_mas.pool.types import (
    AdapterRef,
    ChatMessage,
    GenerationRequest,
    SamplingConfig,
    ScoreRequest,
)

if TYPE_CHECKING:
    from ops_fixtures import FakePool, RedisServer


def _req(
    question: str,
    kind: str = "assessment",
    expert: str = "fire",
    system: str = "You are the fire commander.",
    **tags: str,
) -> GenerationRequest:
    return GenerationRequest(
        messages=[
            ChatMessage(role="system", content=system),
            ChatMessage(role="user", content=question),
        ],
        tags={"kind": kind, "expert": expert, "kb_version": "kb1", "prompt_version": "1", **tags},
    )


@pytest.fixture(params=["sqlite", "redis"])
def config(request: pytest.FixtureRequest, ops_home: Path) -> AppConfig:
    cfg = AppConfig()
    cfg.ops.cache.retry_after_s = 0.2
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        cfg.ops.cache.backend = "redis"
        cfg.ops.cache.redis_url = server.url
    return cfg


def _link(cfg: AppConfig) -> CacheLink:
    return CacheLink(cfg.ops.cache, "fake-base")


def test_exact_hit_skips_the_model_and_keeps_order(config: AppConfig, fake_pool: FakePool) -> None:
    link = _link(config)
    first = link.around("generate", [_req("q1"), _req("q2")], fake_pool.generate)
    assert [r.cached for r in first] == [False, False]
    batch = [_req("q3"), _req("q1"), _req("q2")]
    second = link.around("generate", batch, fake_pool.generate)
    assert [r.cached for r in second] == [False, True, True]
    assert [r.request_id for r in second] == [r.request_id for r in batch]
    assert second[1].text == "answer to: q1" and second[1].prompt_tokens == 100
    assert fake_pool.n_requests == 3  # q1, q2, then only q3
    assert hit_info(batch[1].request_id)["mode"] == "exact"
    stats = cache_stats(config.ops.cache)
    assert stats["hits_exact"] == 2 and stats["misses"] == 3 and stats["entries"] == 3
    assert stats["tokens_saved"] == 2 * 140


def test_key_covers_adapter_sampling_and_versions(
    config: AppConfig, tmp_path: Path, fake_pool: FakePool
) -> None:
    link = _link(config)
    adapter_dir = tmp_path / "fire-lora"
    adapter_dir.mkdir()
    (adapter_dir / "adapter_model.safetensors").write_bytes(b"weights-v1")
    base = _req("q")
    base.adapter = AdapterRef(name="fire", id=1, path=str(adapter_dir))
    link.around("generate", [base], fake_pool.generate)
    variants = [
        base.model_copy(update={"request_id": "a", "sampling": SamplingConfig(max_tokens=99)}),
        base.model_copy(update={"request_id": "b", "tags": {**base.tags, "kb_version": "kb2"}}),
        base.model_copy(update={"request_id": "c", "tags": {**base.tags, "prompt_version": "2"}}),
        base.model_copy(update={"request_id": "d", "adapter": None}),
    ]
    for v in variants:
        assert not link.around("generate", [v], fake_pool.generate)[0].cached
    # Retraining the adapter in place changes its digest: a miss, not a stale answer.
    (adapter_dir / "adapter_model.safetensors").write_bytes(b"weights-v2-longer")
    again = base.model_copy(update={"request_id": "e"})
    assert not link.around("generate", [again], fake_pool.generate)[0].cached
    assert link.around(
        "generate", [again.model_copy(update={"request_id": "f"})], fake_pool.generate
    )[0].cached


def test_never_cached(config: AppConfig, fake_pool: FakePool) -> None:
    link = _link(config)
    private = [
        _req("q", no_cache="1"),
        _req("Call the caller back on 6944123456"),
        _req("Report from nikos@example.gr about the leak"),
        _req("Status at 2026-11-23T11:20 for sector 4"),
    ]
    for _ in range(2):
        out = link.around(
            "generate",
            [
                r.model_copy(update={"request_id": f"{i}-{time.time_ns()}"})
                for i, r in enumerate(private)
            ],
            fake_pool.generate,
        )
        assert not any(r.cached for r in out)
    assert cache_stats(config.ops.cache)["entries"] == 0
    # Blocked or flagged answers are not stored either.
    fake_pool.result_overrides = {
        "bad": {"blocked": True},
        "flagged": {"flags": [{"type": "hazmat_contradiction", "message": "wrong IDLH"}]},
    }
    for _ in range(2):
        out = link.around("generate", [_req("bad"), _req("flagged")], fake_pool.generate)
        assert not any(r.cached for r in out)
    # A low-score note is not a safety failure: stored, and returned with the hit.
    note = {"type": "hazmat_unverified", "score": 0.2}
    fake_pool.result_overrides["noted"] = {"flags": [note]}
    link.around("generate", [_req("noted")], fake_pool.generate)
    hit = link.around("generate", [_req("noted")], fake_pool.generate)[0]
    assert hit.cached and hit.flags == [note]


def test_ttl_by_kind_and_namespace(config: AppConfig, fake_pool: FakePool) -> None:
    config.ops.cache.ttl_s = {"assessment": 1, "chat": 0, "reference": 3600}
    link = _link(config)
    link.around(
        "generate",
        [_req("live", "assessment"), _req("hello", "chat"), _req("doc", "reference")],
        fake_pool.generate,
    )
    out = link.around(
        "generate",
        [_req("live", "assessment"), _req("hello", "chat"), _req("doc", "reference")],
        fake_pool.generate,
    )
    assert [r.cached for r in out] == [True, False, True]
    time.sleep(1.2)
    out = link.around(
        "generate", [_req("live", "assessment"), _req("doc", "reference")], fake_pool.generate
    )
    assert [r.cached for r in out] == [False, True]
    # Bumping the namespace invalidates everything at once.
    config.ops.cache.namespace = "v2"
    assert (
        not _link(config)
        .around("generate", [_req("doc", "reference")], fake_pool.generate)[0]
        .cached
    )


def test_clear_by_pattern(config: AppConfig, fake_pool: FakePool) -> None:
    link = _link(config)
    link.around(
        "generate",
        [
            _req("a", "reference", "fire"),
            _req("b", "assessment", "police"),
            _req("c", "assessment", "fire"),
        ],
        fake_pool.generate,
    )
    assert clear_cache(config.ops.cache, "*:reference:*") == 1
    assert clear_cache(config.ops.cache, "v1:generate:*:police") == 1
    out = link.around(
        "generate",
        [
            _req("a", "reference", "fire"),
            _req("b", "assessment", "police"),
            _req("c", "assessment", "fire"),
        ],
        fake_pool.generate,
    )
    assert [r.cached for r in out] == [False, False, True]
    assert clear_cache(config.ops.cache) == 3
    assert cache_stats(config.ops.cache)["entries"] == 0


def test_score_requests_are_cached(config: AppConfig, fake_pool: FakePool) -> None:
    link = _link(config)

    def sreq() -> ScoreRequest:
        return ScoreRequest(
            messages=[ChatMessage(role="user", content="rank")],
            prefix="R: ",
            continuations=["a1", "a2"],
            tags={"expert": "fire", "kind": "assessment"},
        )

    first = link.around("score", [sreq()], fake_pool.score)[0]
    second = link.around("score", [sreq()], fake_pool.score)[0]
    assert second.logprobs == first.logprobs and fake_pool.n_requests == 1
    other = sreq().model_copy(update={"continuations": ["a1", "a3"]})
    link.around("score", [other], fake_pool.score)
    assert fake_pool.n_requests == 2


PARAPHRASE = (
    "What is the initial isolation distance for a chlorine leak of 50 ppm at Odos Ermou 12?"
)
TRAPS = {
    "same": "For a chlorine leak of 50 ppm at Odos Ermou 12, what is the initial isolation "
    "distance?",
    "chemical": "What is the initial isolation distance for an ammonia leak of 50 ppm at Odos "
    "Ermou 12?",
    "ppm": "What is the initial isolation distance for a chlorine leak of 500 ppm at Odos "
    "Ermou 12?",
    "street": "What is the initial isolation distance for a chlorine leak of 50 ppm at Odos "
    "Stadiou 12?",
    "number": "What is the initial isolation distance for a chlorine leak of 50 ppm at Odos "
    "Ermou 14?",
}


def test_semantic_hits_paraphrases_but_never_a_near_miss(
    config: AppConfig, fake_pool: FakePool
) -> None:
    link = _link(config)
    link.around("generate", [_req(PARAPHRASE, "reference")], fake_pool.generate)
    for name, text in TRAPS.items():
        req = _req(text, "reference")
        out = link.around("generate", [req], fake_pool.generate)[0]
        if name == "same":
            assert out.cached, "a true paraphrase should hit"
            assert out.text == f"answer to: {PARAPHRASE}"
            assert hit_info(req.request_id)["mode"] == "semantic"
            assert hit_info(req.request_id)["similarity"] >= config.ops.cache.semantic.threshold
        else:
            assert not out.cached, f"near miss ({name}) must not hit"
            assert out.text == f"answer to: {text}"
    # Assessments are exact-only by default; a different system prompt is another scope.
    assert not link.around("generate", [_req(TRAPS["same"], "assessment")], fake_pool.generate)[
        0
    ].cached
    assert not link.around(
        "generate", [_req(TRAPS["same"], "reference", system="You are police.")], fake_pool.generate
    )[0].cached
    assert cache_stats(config.ops.cache)["hits_semantic"] == 1


def test_redis_killed_mid_run_bypasses_with_one_warning(
    redis_server: RedisServer,
    ops_home: Path,
    fake_pool: FakePool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cfg = AppConfig()
    cfg.ops.cache.redis_url = redis_server.url
    cfg.ops.cache.retry_after_s = 0.3
    link = _link(cfg)
    link.around("generate", [_req("q1")], fake_pool.generate)
    assert link.around("generate", [_req("q1")], fake_pool.generate)[0].cached

    redis_server.kill()
    caplog.set_level(logging.WARNING, logger="crisis_mas.middleware.cache")
    t0 = time.perf_counter()
    for i in range(20):
        out = link.around("generate", [_req("q1"), _req(f"new {i}")], fake_pool.generate)
        assert [r.text for r in out] == ["answer to: q1", f"answer to: new {i}"]
        assert not any(r.cached for r in out)
        time.sleep(0.02)  # spans several retry periods
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0, f"bypass must be fast, took {elapsed:.1f} s"
    warnings = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert not link.health()["ok"]

    # Redis comes back (empty: no persistence): the cache resumes after the retry period.
    redis_server.start()
    time.sleep(0.35)
    link.around("generate", [_req("q1")], fake_pool.generate)
    assert link.around("generate", [_req("q1")], fake_pool.generate)[0].cached
    assert any("is back" in r.getMessage() for r in caplog.records)


def test_unreachable_redis_at_start_never_fails(
    ops_home: Path,
    fake_pool: FakePool,
    dead_port: int,
) -> None:
    cfg = AppConfig()
    cfg.ops.cache.redis_url = f"redis://127.0.0.1:{dead_port}/0"
    out = _link(cfg).around("generate", [_req("q"), _req("q", "reference")], fake_pool.generate)
    assert [r.text for r in out] == ["answer to: q", "answer to: q"]
