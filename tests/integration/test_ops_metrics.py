"""Prometheus metrics per expert, the persistent event log, and alert rules (throttled, grouped)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from otlp_receiver import OTLPReceiver

from crisis_mas.config import AppConfig
from crisis_mas.middleware.chain import build_chain
from crisis_mas.middleware.config import AlertRule
from crisis_mas.middleware.metrics import metrics_text
from crisis_mas.monitor.alerts import evaluate_alerts
from crisis_mas.pool.types import ChatMessage, GenerationRequest
from crisis_mas.store import Store, open_store
from crisis_mas.store.events import EventLog

if TYPE_CHECKING:
    from ops_fixtures import FakePool



def _req(expert: str, text: str, kind: str = "assessment") -> GenerationRequest:
    return GenerationRequest(
        messages=[ChatMessage(role="user", content=text)],
        tags={"expert": expert, "kind": kind, "run_id": "r1"},
    )


def _sample(text: str, name: str, labels: dict[str, str]) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{"):
            got = line[len(name) + 1 : line.index("}")]
            if ",".join(sorted(got.split(","))) == want:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def expert() -> str:
    """A unique expert label: the Prometheus registry is process-wide."""
    return f"fire_{uuid.uuid4().hex[:6]}"


def test_link_counts_per_expert(
    ops_home: Path,
    fake_pool: FakePool,
    expert: str,
) -> None:
    config = AppConfig()
    config.ops.chain = ["metrics", "cache"]
    pool = build_chain(fake_pool, config.ops, config.model.base)
    fake_pool.result_overrides = {
        "blocked": {"blocked": True, "text": "refused"},
        "contradiction": {"flags": [{"type": "hazmat_contradiction"}, {"type": "pii"}]},
    }
    pool.generate([_req(expert, "a"), _req(expert, "blocked"), _req(expert, "contradiction")])
    pool.generate([_req(expert, "a")])  # cache hit
    fake_pool.fail_next = True
    with pytest.raises(RuntimeError):
        pool.generate([_req(expert, "boom")])

    text = metrics_text()[0].decode()
    base = {"expert": expert}
    assert (
        _sample(
            text,
            "crisis_mas_model_requests_total",
            {**base, "kind": "assessment", "op": "generate"},
        )
        == 5
    )
    assert (
        _sample(
            text, "crisis_mas_model_errors_total", {**base, "kind": "assessment", "op": "generate"}
        )
        == 1
    )
    assert _sample(text, "crisis_mas_cache_hits_total", base) == 1
    assert _sample(text, "crisis_mas_cache_hit_ratio", base) == pytest.approx(1 / 4)
    assert _sample(text, "crisis_mas_guard_blocks_total", base) == 1
    assert _sample(text, "crisis_mas_hazmat_contradictions_total", base) == 1
    assert _sample(text, "crisis_mas_guard_flags_total", {**base, "type": "pii"}) == 1
    # Blocked calls and cache hits add no model tokens: "a" and "contradiction" only.
    assert _sample(text, "crisis_mas_model_tokens_total", {**base, "direction": "prompt"}) == 200
    assert _sample(text, "crisis_mas_cache_tokens_saved_total", base) == 140
    assert (
        _sample(
            text,
            "crisis_mas_model_latency_seconds_count",
            {**base, "kind": "assessment", "cached": "true"},
        )
        == 1
    )

    # The event log persists across processes: a fresh engine on the store sees all five calls.
    fresh = Store(config.store)
    events = fresh.events.since(0)
    fresh.dispose()
    mine = [e for e in events if e["expert"] == expert]
    assert len(mine) == 5
    assert sum(e["cached"] for e in mine) == 1 and sum(e["error"] for e in mine) == 1
    assert sum(e["blocked"] for e in mine) == 1 and sum(e["hazmat"] for e in mine) == 1


def _events(n: int, expert: str, ts: float, **overrides: float) -> list[dict]:
    base = {
        "ts": ts,
        "expert": expert,
        "kind": "assessment",
        "op": "generate",
        "run_id": "r",
        "latency_ms": 1000.0,
        "prompt_tokens": 100,
        "completion_tokens": 40,
        "cached": 0,
        "error": 0,
        "blocked": 0,
        "hazmat": 0,
        "flags": 0,
        "cost": 0.001,
    }
    return [{**base, **overrides} for _ in range(n)]


@pytest.fixture
def store(ops_home: Path) -> Iterator[EventLog]:
    yield open_store(ops_home / "alerts-test.db").events


def test_flood_of_alerts_is_grouped_and_throttled(store: EventLog) -> None:
    config = AppConfig()
    config.ops.alerts.throttle_s = 600
    now = 1_000_000.0
    for expert in ("fire", "police", "medical"):
        store.record(_events(10, expert, now - 60) + _events(10, expert, now - 30, error=1))
    first = evaluate_alerts(config, now=now, log_store=store)
    errors = [a for a in first if a.rule == "high_error_rate"]
    assert len(errors) == 1, "three experts breaching one rule must be one alert"
    (alert,) = errors
    assert alert.experts == ["fire", "medical", "police"] and alert.count == 3
    assert alert.notify and alert.severity == "critical" and alert.value == pytest.approx(0.5)

    repeats = [evaluate_alerts(config, now=now + i, log_store=store) for i in range(1, 20)]
    again = [a for r in repeats for a in r if a.rule == "high_error_rate"]
    assert len(again) == 19 and not any(a.notify for a in again), "throttled repeats"
    assert again[-1].count == 3 * 20

    later = evaluate_alerts(config, now=now + 601, log_store=store)
    assert [a.notify for a in later if a.rule == "high_error_rate"] == [True]

    # Once the errors leave the window, the alert resolves and its state is forgotten.
    assert evaluate_alerts(config, now=now + 2 * 3600, log_store=store) == []
    store.record(_events(10, "fire", now + 2 * 3600, error=1))
    fresh = evaluate_alerts(config, now=now + 2 * 3600 + 1, log_store=store)
    assert [(a.count, a.notify) for a in fresh if a.rule == "high_error_rate"] == [(1, True)]


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"latency_ms": 20000.0}, "slow_model_calls"),
        ({"cost": 1.0}, "daily_cost"),
        ({"blocked": 1}, "safety_failures"),
        ({"hazmat": 1}, "safety_failures"),
    ],
)
def test_each_rule_fires(store: EventLog, overrides: dict, rule: str) -> None:
    now = 2_000_000.0
    store.record(_events(10, "fire", now - 10, **overrides))
    fired = {a.rule for a in evaluate_alerts(AppConfig(), now=now, log_store=store)}
    assert rule in fired


def test_cache_hit_ratio_rule_and_min_requests(store: EventLog) -> None:
    config = AppConfig()
    config.ops.alerts.rules = [
        AlertRule(
            name="cold_cache",
            metric="cache_hit_ratio",
            op="<",
            threshold=0.5,
            severity="info",
            min_requests=20,
        )
    ]
    now = 3_000_000.0
    store.record(_events(10, "fire", now - 10))
    assert evaluate_alerts(config, now=now, log_store=store) == []  # too few calls to judge
    store.record(_events(15, "fire", now - 5) + _events(5, "fire", now - 5, cached=1))
    (alert,) = evaluate_alerts(config, now=now, log_store=store)
    assert alert.rule == "cold_cache" and alert.value == pytest.approx(5 / 30)
    # Cache hits do not count towards model latency.
    store.record(_events(100, "police", now - 1, cached=1, latency_ms=1.0))
    config.ops.alerts.rules = [AlertRule(name="slow", metric="p95_latency_ms", threshold=500)]
    assert {a.rule for a in evaluate_alerts(config, now=now, log_store=store)} == {"slow"}


def test_new_alerts_go_to_the_webhook_once(store: EventLog) -> None:
    with OTLPReceiver() as rx:
        config = AppConfig()
        config.ops.alerts.webhook_url = f"{rx.url}/hooks/alerts"
        now = 4_000_000.0
        store.record(_events(10, "fire", now - 10, error=1))
        evaluate_alerts(config, now=now, log_store=store)
        evaluate_alerts(config, now=now + 1, log_store=store)
        posts = [p for m, p in rx.requests if m == "POST"]
    assert posts == ["/hooks/alerts"]
