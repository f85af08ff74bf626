"""Chaos at the run level: a real redis-server under the response cache is SIGKILLed while an
assessment is using it (after the cache looked its requests up, before it stores the answers).
The run completes with the same report as a run without any cache, counts the bypass, and the
next run works with Redis still down and again once it is back.

The model is a stand-in that answers in the adapters' trained format (the point is the cache
path, which is all real: `Assessor.run`, the default middleware chain, the Redis backend)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from crisis_mas.assess import Assessor
from crisis_mas.config import AppConfig
from crisis_mas.middleware.cache.middleware import cache_stats
from crisis_mas.pool.base import ModelPool
from crisis_mas.pool.types import (
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    ScoreRequest,
    ScoreResult,
)
from crisis_mas.scenario import bundled_scenarios_dir, parse_scenario

if TYPE_CHECKING:
    from ops_fixtures import RedisServer

ANSWER = (
    "Rationale: The fire front is moving toward the villages and evacuation routes may close.\n"
    "Key concerns:\n- wind shifts\n- blocked roads\nImmediate actions:\n- open corridors\n"
)


class TrainedFormatPool(ModelPool):
    """Answers like a trained adapter; `on_generate` runs inside the first generate call."""

    backend = "fake"

    def __init__(self) -> None:
        self.on_generate: list = []
        self.calls = 0

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        self.calls += len(requests)
        while self.on_generate:
            self.on_generate.pop(0)()
        return [
            GenerationResult(
                request_id=r.request_id,
                text=ANSWER + f"- {r.tags.get('expert')} staging area\n",
                prompt_tokens=80,
                completion_tokens=40,
                finish_reason="stop",
            )
            for r in requests
        ]

    def score(self, requests: list[ScoreRequest]) -> list[ScoreResult]:
        self.calls += len(requests)
        return [
            ScoreResult(
                request_id=r.request_id,
                logprobs=[-1.0 - 0.5 * i for i in range(len(r.continuations))],
                token_counts=[1] * len(r.continuations),
                prompt_tokens=90,
            )
            for r in requests
        ]

    def info(self) -> ModelInfo:
        return ModelInfo(base="fake-base", backend="fake")


def _config(tmp: Path, redis_url: str | None) -> AppConfig:
    return AppConfig.model_validate(
        {
            "model": {"use_adapters": False},
            "rag": {"enabled": False},
            "store": {"path": str(tmp / "runs.db")},
            "ops": {
                "cache": {
                    "enabled": redis_url is not None,
                    "backend": "redis",
                    "redis_url": redis_url,
                    "redis_timeout_s": 0.3,
                    "retry_after_s": 0.5,
                    "semantic": {"enabled": False},
                }
            },
        }
    )


def _scenario() -> object:
    data = json.loads((bundled_scenarios_dir() / "evia_wildfire.json").read_text())
    return parse_scenario(data)


def _essence(report: object) -> dict:
    """What must not depend on the cache: each expert's answer, beliefs and the decision."""
    r = report  # type: ignore[assignment]
    return {
        "status": r.status,  # type: ignore[attr-defined]
        "recommended": r.decision.recommended,  # type: ignore[attr-defined]
        "assessments": [
            (a.expert_id, a.status, a.raw_text, a.beliefs)
            for a in r.assessments  # type: ignore[attr-defined]
        ],
    }


def test_redis_killed_during_a_run_the_run_completes(
    tmp_path: Path, redis_server: RedisServer, ops_home: Path
) -> None:
    experts = ["fire", "police", "medical"]
    baseline = Assessor(_config(tmp_path / "plain", None), pool=TrainedFormatPool())
    expected = _essence(baseline.run(_scenario(), experts))
    assert expected["status"] == "ok"

    pool = TrainedFormatPool()
    cfg = _config(tmp_path / "cached", redis_server.url)
    assessor = Assessor(cfg, pool=pool)
    pool.on_generate.append(redis_server.kill)  # mid-run: lookups done, stores still to come
    t = time.perf_counter()
    report = assessor.run(_scenario(), experts)
    assert time.perf_counter() - t < 10  # bypassed, not stuck on Redis timeouts
    assert redis_server.proc is None
    assert _essence(report) == expected
    assert all(a.status == "ok" for a in report.assessments)

    # Redis still down: the next run bypasses the cache from the start and still completes.
    again = assessor.run(_scenario(), experts)
    assert _essence(again) == expected

    # Redis back (empty: --save ''): the cache fills again and the run after that is served
    # from it, with the same report.
    redis_server.start()
    time.sleep(0.6)  # past retry_after_s
    calls = pool.calls
    assessor.run(_scenario(), experts)
    filled = pool.calls - calls
    served = assessor.run(_scenario(), experts)
    assert _essence(served) == expected
    assert pool.calls - calls == filled  # the last run reached the model 0 times
    stats = cache_stats(cfg.ops.cache)
    assert stats["hits_exact"] >= len(experts) and stats["entries"] > 0


def test_redis_down_for_the_whole_run(
    tmp_path: Path, redis_server: RedisServer, ops_home: Path
) -> None:
    redis_server.kill()
    pool = TrainedFormatPool()
    assessor = Assessor(_config(tmp_path, redis_server.url), pool=pool)
    t = time.perf_counter()
    report = assessor.run(_scenario(), ["fire", "hazmat"])
    assert time.perf_counter() - t < 10
    assert report.status == "ok" and all(a.status == "ok" for a in report.assessments)
