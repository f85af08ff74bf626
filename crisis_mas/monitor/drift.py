"""Drift detection: data drift (embedding-centroid distance of recent scenario inputs from a
reference window) and concept drift (a fresh eval run's accuracy against a stored reference eval).

Both raise alerts through the ops alert mechanism (same `Alert` objects, throttle state in the
store's `alert_state` table, same log/webhook notification). Embeddings come from the
project's process-wide MiniLM (`crisis_mas.embeddings.get_embedder`), never a second copy.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel

from crisis_mas.monitor.config import DriftConfig
from crisis_mas.store import StoreRef, open_store
from crisis_mas.store.records import AlertStateRecord, ScenarioInput

if TYPE_CHECKING:
    from crisis_mas.config import AppConfig
    from crisis_mas.embeddings import Embedder
    from crisis_mas.evals.results import EvalRun
    from crisis_mas.monitor.alerts import Alert
    from crisis_mas.scenario import Scenario

EVAL_RUN_PREFIX = "eval-"  # the eval harness's run ids: not live inputs


class DriftResult(BaseModel):
    kind: Literal["data", "concept"]
    value: float | None  # distance (data) or accuracy drop (concept); None: not enough data
    threshold: float
    drifted: bool
    n: int  # recent inputs (data) or scenarios (concept)
    message: str


def scenario_text(scenario_type: str, name: str, description: str = "") -> str:
    """The text that represents a scenario input (the same shape as the pipeline's RAG query)."""
    return f"{scenario_type}: {name}. {description}".strip()


def record_input(run_id: str, scenario: Scenario, store: StoreRef = None) -> None:
    """Keep a run's scenario text for drift (hook: call beside saving the run)."""
    open_store(store).inputs.add(
        ScenarioInput(
            run_id=run_id,
            created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            scenario_id=scenario.id,
            text=scenario_text(scenario.type, scenario.name, scenario.description),
        )
    )


def reference_texts() -> list[str]:
    """The reference window: the bundled scenarios the system was tuned and labelled on."""
    from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

    out = []
    for f in sorted(bundled_scenarios_dir().glob("*.json")):
        s = load_scenario(f)
        out.append(scenario_text(s.type, s.name, s.description))
    return out


def recent_texts(store: StoreRef = None, window: int = 50) -> list[str]:
    """The newest live runs' inputs (eval runs excluded). Runs saved before `record_input` was
    wired fall back to the bundled scenario of the same id, else to type and name."""
    bundled: dict[str, str] = {}
    out = []
    for r in open_store(store).inputs.recent(window, skip_prefix=EVAL_RUN_PREFIX):
        if r.text:
            out.append(r.text)
            continue
        if not bundled:
            bundled = _bundled_by_id()
        if r.scenario_id in bundled:
            out.append(bundled[r.scenario_id])
        else:
            import json

            name = json.loads(r.document).get("scenario_name", "")
            out.append(scenario_text(r.scenario_type, name))
    return out


def _bundled_by_id() -> dict[str, str]:
    from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

    out = {}
    for f in sorted(bundled_scenarios_dir().glob("*.json")):
        s = load_scenario(f)
        out[s.id] = scenario_text(s.type, s.name, s.description)
    return out


def centroid_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine distance (0 same direction, 2 opposite) between the centroids of two vector sets."""
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    na, nb = float(np.linalg.norm(ca)), float(np.linalg.norm(cb))
    if na == 0 or nb == 0:
        return 1.0
    return float(1.0 - np.dot(ca, cb) / (na * nb))


def data_drift(
    recent: list[str],
    reference: list[str],
    embedder: Embedder | None = None,
    cfg: DriftConfig | None = None,
) -> DriftResult:
    """Embed both windows and compare their centroids against the threshold."""
    cfg = cfg or DriftConfig()
    if len(recent) < cfg.min_samples or not reference:
        return DriftResult(
            kind="data",
            value=None,
            threshold=cfg.data_threshold,
            drifted=False,
            n=len(recent),
            message=f"data drift: {len(recent)} recent inputs, need {cfg.min_samples}",
        )
    if embedder is None:
        from crisis_mas.embeddings import get_embedder

        embedder = get_embedder()
    d = centroid_distance(embedder.encode(recent), embedder.encode(reference))
    drifted = d > cfg.data_threshold
    return DriftResult(
        kind="data",
        value=round(d, 4),
        threshold=cfg.data_threshold,
        drifted=drifted,
        n=len(recent),
        message=f"data drift: centroid cosine distance {d:.3f} "
        f"{'>' if drifted else '<='} {cfg.data_threshold} over {len(recent)} recent inputs",
    )


def concept_drift(
    fresh: EvalRun, reference: EvalRun | None, cfg: DriftConfig | None = None
) -> DriftResult:
    """Accuracy (top-1 acceptable) drop of a fresh eval run from the stored reference run."""
    cfg = cfg or DriftConfig()
    if reference is None:
        return DriftResult(
            kind="concept",
            value=None,
            threshold=cfg.max_accuracy_drop,
            drifted=False,
            n=fresh.metrics.n_runs,
            message="concept drift: no reference eval run (crisis-mas eval --set-reference)",
        )
    ref_acc = reference.metrics.top1_acceptable_rate
    acc = fresh.metrics.top1_acceptable_rate
    drop = ref_acc - acc
    drifted = drop > cfg.max_accuracy_drop
    return DriftResult(
        kind="concept",
        value=round(drop, 4),
        threshold=cfg.max_accuracy_drop,
        drifted=drifted,
        n=fresh.metrics.n_runs,
        message=f"concept drift: top-1 acceptable {acc:.1%} vs reference {ref_acc:.1%} "
        f"({reference.eval_id}), drop {drop:+.1%} "
        f"{'>' if drifted else '<='} {cfg.max_accuracy_drop:.0%}",
    )


def raise_alerts(
    results: list[DriftResult],
    config: AppConfig,
    cfg: DriftConfig | None = None,
    now: float | None = None,
    notify: bool = True,
) -> list[Alert]:
    """Drifted results as ops alerts, throttled like the ops rules, notified the same way."""
    from crisis_mas.middleware.metrics import event_store
    from crisis_mas.monitor.alerts import Alert, _notify

    cfg = cfg or DriftConfig()
    now = time.time() if now is None else now
    throttle = config.ops.alerts.throttle_s
    alerts = []
    with event_store(config.ops.metrics).alerts.session() as states:
        for r in results:
            fp = f"drift_{r.kind}:drift"
            if not r.drifted:
                states.delete(fp)
                continue
            row = states.get(fp) or AlertStateRecord(
                fingerprint=fp, first_seen=now, last_notified=0.0, count=0
            )
            send = row.count == 0 or now - row.last_notified >= throttle
            row = row.model_copy(
                update={
                    "count": row.count + 1,
                    "last_notified": now if send else row.last_notified,
                }
            )
            states.put(row)
            first_seen, last_notified, count = row.first_seen, row.last_notified, row.count
            alerts.append(
                Alert(
                    rule=f"{r.kind}_drift",
                    metric="centroid_cosine_distance" if r.kind == "data" else "accuracy_drop",
                    severity=cfg.severity,
                    op=">",
                    threshold=r.threshold,
                    value=float(r.value or 0.0),
                    count=count,
                    first_seen=first_seen,
                    last_notified=last_notified,
                    notify=send,
                    message=r.message + (f" (x{count} since first seen)" if count > 1 else ""),
                )
            )
    if notify:
        _notify([a for a in alerts if a.notify], config)
    return alerts
