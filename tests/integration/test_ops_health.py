"""Health checks (real Redis up and killed, Langfuse loopback and dead port) and the ops CLIs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from otlp_receiver import OTLPReceiver
from typer.testing import CliRunner

from crisis_mas.config import AppConfig
from crisis_mas.middleware.metrics import event_log
from crisis_mas.monitor.health import check_health

if TYPE_CHECKING:
    from ops_fixtures import FakePool, RedisServer



def test_health_with_redis_up_then_killed(
    redis_server: RedisServer,
    ops_home: Path,
    fake_pool: FakePool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    config = AppConfig()
    report = check_health(config, pool=fake_pool)
    assert report["ok"], report
    comps = report["components"]
    assert comps["redis"]["status"] == "ok" and "redis 7" in comps["redis"]["detail"]
    assert comps["model_pool"]["status"] == "ok"
    assert comps["vector_index"]["status"] == "not built"
    assert comps["langfuse"]["status"] == "disabled"
    assert comps["event_log"]["status"] == "ok"

    redis_server.kill()
    t0 = time.perf_counter()
    report = check_health(config)
    assert time.perf_counter() - t0 < 3.0
    assert not report["ok"] and report["down"] == ["redis"]


def test_health_langfuse_reachable_and_dead(
    ops_home: Path,
    use_langfuse: Callable[[str], str],
    dead_port: int,
) -> None:
    with OTLPReceiver() as rx:
        use_langfuse(rx.url)
        comp = check_health(AppConfig())["components"]["langfuse"]
        assert comp["status"] == "ok" and "/api/public/health" in comp["detail"]
    use_langfuse(f"http://127.0.0.1:{dead_port}")
    t0 = time.perf_counter()
    report = check_health(AppConfig())
    assert time.perf_counter() - t0 < 3.0
    assert report["components"]["langfuse"]["status"] == "down" and not report["ok"]


def test_cache_cli_stats_and_clear(ops_home: Path, fake_pool: FakePool) -> None:
    from crisis_mas.cli.cache import app
    from crisis_mas.middleware.cache.middleware import CacheLink
    from crisis_mas.pool.types import ChatMessage, GenerationRequest

    link = CacheLink(AppConfig().ops.cache, "fake-base")
    for _ in range(2):
        link.around("generate", 
            [
                GenerationRequest(
                    messages=[ChatMessage(role="user", content="q")],
                    tags={"kind": "assessment", "expert": "fire"},
                )
            ],
            fake_pool.generate,
        )
    runner = CliRunner()
    res = runner.invoke(app, ["stats", "--json"])
    assert res.exit_code == 0, res.output
    stats = json.loads(res.output)
    assert stats["hits"] == 1 and stats["misses"] == 1 and stats["entries"] == 1
    assert stats["tokens_saved"] == 140 and stats["backend"].startswith("sqlite:")
    res = runner.invoke(app, ["clear", "--pattern", "*:police"])
    assert res.exit_code == 0 and "cleared 0" in res.output
    res = runner.invoke(app, ["clear", "--pattern", "*:fire"])
    assert "cleared 1" in res.output
    assert runner.invoke(app, ["stats"]).exit_code == 0


def test_health_cli_json_and_alerts(ops_home: Path) -> None:
    from crisis_mas.cli.health import app

    runner = CliRunner()
    res = runner.invoke(app, ["--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["ok"] is True

    now = time.time()
    event_log(AppConfig().ops.metrics).record(
        [
            {
                "ts": now,
                "expert": "fire",
                "kind": "assessment",
                "op": "generate",
                "run_id": "r",
                "latency_ms": 10.0,
                "prompt_tokens": 1,
                "completion_tokens": 1,
                "cached": 0,
                "error": 1,
                "blocked": 0,
                "hazmat": 0,
                "flags": 0,
                "cost": 0.0,
            }
            for _ in range(10)
        ]
    )
    res = runner.invoke(app, ["--json", "--alerts"])
    assert res.exit_code == 1, "a critical alert makes the command fail"
    alerts = json.loads(res.output)["alerts"]
    assert [a["rule"] for a in alerts] == ["high_error_rate"] and alerts[0]["notify"]
    res = runner.invoke(app, ["--alerts"])
    assert "high_error_rate" in res.output and "throttled" in res.output
