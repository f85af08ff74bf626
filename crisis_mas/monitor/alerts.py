"""Alert rules over the recorded model calls: evaluated on demand, throttled and grouped.

Each rule (`ops.alerts.rules`) computes one metric per expert over the window (daily cost: over
the last 24 h, all experts together) and fires when it crosses the threshold. Breaches of one rule
in one evaluation are grouped into a single alert listing the experts; repeated firing within
`throttle_s` does not notify again but raises the alert's `count`, so a flood of identical
alerts becomes one line with a count. A rule that stops firing is resolved and forgotten.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from crisis_mas.middleware.metrics import event_log, event_store
from crisis_mas.store.events import AlertStates, EventLog
from crisis_mas.store.records import AlertStateRecord

if TYPE_CHECKING:
    from crisis_mas.config import AppConfig
    from crisis_mas.middleware.config import AlertRule

log = logging.getLogger("crisis_mas.monitor.alerts")

DAY_S = 86400.0


@dataclass
class Alert:
    rule: str
    metric: str
    severity: str
    op: str
    threshold: float
    value: float  # the worst value among the breaching experts
    experts: list[str] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)
    count: int = 1  # occurrences (expert breaches x evaluations) since first seen
    first_seen: float = 0.0
    last_notified: float = 0.0
    notify: bool = True  # False: throttled repeat of an alert already sent
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def metric_value(metric: str, events: list[dict]) -> float | None:
    """One metric over a list of events (None when it is undefined, e.g. no model calls)."""
    if not events:
        return None
    n = len(events)
    if metric == "error_rate":
        return sum(e["error"] for e in events) / n
    if metric == "p95_latency_ms":
        # Model latency: cache hits and guard blocks would hide a slow model.
        return _p95([e["latency_ms"] for e in events if not e["cached"] and not e["blocked"]])
    if metric == "safety_failure_rate":
        return sum(1 for e in events if e["blocked"] or e["hazmat"]) / n
    if metric == "cache_hit_ratio":
        return sum(e["cached"] for e in events) / n
    if metric == "daily_cost_usd":
        return sum(e["cost"] or 0.0 for e in events)
    raise ValueError(f"unknown alert metric {metric}")


def _breaches(rule: AlertRule, value: float | None) -> bool:
    if value is None:
        return False
    return value > rule.threshold if rule.op == ">" else value < rule.threshold


def _check_rule(rule: AlertRule, window: list[dict], day: list[dict]) -> dict[str, float]:
    """Breaching scopes -> value (scope = expert id, or "all" for the daily cost)."""
    if rule.metric == "daily_cost_usd":
        value = metric_value(rule.metric, day)
        return {"all": value} if len(day) >= rule.min_requests and _breaches(rule, value) else {}
    per_expert: dict[str, list[dict]] = defaultdict(list)
    for e in window:
        per_expert[e["expert"] or "none"].append(e)
    out = {}
    for expert, events in sorted(per_expert.items()):
        if len(events) < max(1, rule.min_requests):
            continue
        value = metric_value(rule.metric, events)
        if _breaches(rule, value):
            out[expert] = float(value)  # type: ignore[arg-type]
    return out


def _fmt(metric: str, v: float) -> str:
    if metric.endswith("_rate") or metric == "cache_hit_ratio":
        return f"{v:.1%}"
    if metric == "daily_cost_usd":
        return f"${v:.2f}"
    return f"{v:.0f} ms"


def evaluate_alerts(
    config: AppConfig,
    now: float | None = None,
    log_store: EventLog | None = None,
    notify: bool = True,
) -> list[Alert]:
    """Firing alerts over the recorded window; updates throttle state and sends notifications."""
    cfg = config.ops.alerts
    store = log_store or event_log(config.ops.metrics)
    now = time.time() if now is None else now
    horizon = min(now - cfg.window_s, now - DAY_S)
    events = store.since(horizon)
    window = [e for e in events if e["ts"] >= now - cfg.window_s]
    day = [e for e in events if e["ts"] >= now - DAY_S]
    alerts: list[Alert] = []
    states_of = (
        AlertStates(log_store.store) if log_store else event_store(config.ops.metrics).alerts
    )
    with states_of.session() as states:
        firing: set[str] = set()
        for rule in cfg.rules:
            hits = _check_rule(rule, window, day)
            if not hits:
                continue
            fp = f"{rule.name}:{rule.metric}"
            firing.add(fp)
            row = states.get(fp)
            send = row is None or now - row.last_notified >= cfg.throttle_s
            row = row or AlertStateRecord(fingerprint=fp, first_seen=now, last_notified=0, count=0)
            first_seen, count = row.first_seen, row.count + len(hits)
            last_notified = now if send else row.last_notified
            states.put(row.model_copy(update={"count": count, "last_notified": last_notified}))
            worst = max(hits.values()) if rule.op == ">" else min(hits.values())
            who = ", ".join(f"{k} {_fmt(rule.metric, v)}" for k, v in hits.items())
            alerts.append(
                Alert(
                    rule=rule.name,
                    metric=rule.metric,
                    severity=rule.severity,
                    op=rule.op,
                    threshold=rule.threshold,
                    value=worst,
                    experts=sorted(hits),
                    values={k: round(v, 6) for k, v in hits.items()},
                    count=count,
                    first_seen=first_seen,
                    last_notified=last_notified,
                    notify=send,
                    message=(
                        f"{rule.metric} {rule.op} {_fmt(rule.metric, rule.threshold)}: {who}"
                        + (f" (x{count} since first seen)" if count > 1 else "")
                    ),
                )
            )
        # Resolved rules start afresh next time.
        for fp in states.fingerprints():
            if fp not in firing:
                states.delete(fp)
    order = {"critical": 0, "warning": 1, "info": 2}
    alerts.sort(key=lambda a: (order.get(a.severity, 3), a.rule))
    if notify:
        _notify([a for a in alerts if a.notify], config)
    return alerts


def _notify(alerts: list[Alert], config: AppConfig) -> None:
    """Log new alerts and POST them (one grouped payload) to the webhook, best effort."""
    if not alerts:
        return
    for a in alerts:
        log.warning("ALERT [%s] %s: %s", a.severity, a.rule, a.message)
    url = config.ops.alerts.webhook_url
    if not url:
        return
    try:
        import httpx

        httpx.post(url, json={"alerts": [a.to_dict() for a in alerts]}, timeout=2.0)
    except Exception as err:
        log.warning("alerts: webhook %s failed: %s", url, err)
