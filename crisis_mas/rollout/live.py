"""Adapter rollout on live requests: canary routing inside `Assessor.run`, shadow runs after the
user's report exists.

The request path pays one read of the store (two SELECTs on one connection; for an embedded store
that does not exist yet, one `stat`): it never creates a database and makes no model call unless
a rollout is active. A candidate is only used
when the model pool can serve it (`pool.info()` lists its `expert@vN` name, or says the pool
loads candidates from disk on first use, as the vLLM pools and the Serve model pool do): a pool
that cannot serve it keeps serving the incumbent instead of failing the user's request. Eval
runs (`eval-*`) and shadow runs (`shadow-*`) are never routed, so a paired eval is not
contaminated by a canary.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crisis_mas.pool.types import AdapterRef, ModelInfo
from crisis_mas.rollout.policy import Arm, Mode, route
from crisis_mas.rollout.shadow import candidate_name
from crisis_mas.store import existing_store
from crisis_mas.store.records import ServingRecord

if TYPE_CHECKING:
    from crisis_mas.assess import Assessor
    from crisis_mas.config import AppConfig
    from crisis_mas.report.model import Report
    from crisis_mas.scenario import Scenario

log = logging.getLogger("crisis_mas.rollout.live")

NOT_LIVE = ("eval-", "shadow-")  # run-id prefixes that never take part in a rollout


@dataclass(frozen=True)
class Candidate:
    """An active candidate version of one expert's adapter."""

    expert: str
    version: int
    mode: Mode
    fraction: float
    path: str
    lora_id: int  # from the store's adapter ids: unique across experts, versions and processes

    @property
    def ref(self) -> AdapterRef:
        """Its distinct LoRA identity (`expert@vN` and its registry id)."""
        return AdapterRef(
            name=candidate_name(self.expert, self.version), id=self.lora_id, path=self.path
        )


@dataclass
class LivePlan:
    """Per-run canary routing: adapter overrides and the arm that serves each canary expert."""

    run_id: str
    adapters: dict[str, AdapterRef] = field(default_factory=dict)
    arms: dict[str, Arm] = field(default_factory=dict)


def _read(config: AppConfig) -> tuple[dict[str, Candidate], dict[str, Candidate]]:
    """(expert -> registry incumbent, expert -> active shadow/canary candidate) over one
    connection; both {} without a store (nothing is created) or when it cannot be read."""
    try:
        store = existing_store(config.store)
        if store is None:
            return {}, {}
        incumbents, active = store.registry.serving()
        names = [candidate_name(r.expert, r.version) for r in (*incumbents, *active)]
        ids = store.adapter_ids.ids(names) if names else {}
    except Exception as err:  # a locked, broken or unreachable store: serve incumbents
        log.warning("rollout registry unreadable (%s): serving incumbents", err)
        return {}, {}
    return _candidates(incumbents, ids), _candidates(active, ids)


def _candidates(rows: list[ServingRecord], ids: dict[str, int]) -> dict[str, Candidate]:
    found = {}
    for r in rows:
        try:
            path = str(json.loads(r.info).get("path", ""))
        except ValueError:
            log.warning("rollout registry: unreadable metadata of %s v%s", r.expert, r.version)
            continue
        name = candidate_name(r.expert, r.version)
        found[r.expert] = Candidate(r.expert, r.version, r.mode, r.fraction, path, ids[name])  # type: ignore[arg-type]
    return found


def active_candidates(config: AppConfig) -> dict[str, Candidate]:
    """Expert -> its candidate in shadow or canary mode; {} without a registry (nothing created)."""
    return _read(config)[1]


def incumbents(config: AppConfig) -> dict[str, Candidate]:
    """Expert -> the registry's incumbent version (activated or promoted); {} without one."""
    return _read(config)[0]


def _same_dir(a: str, b: str) -> bool:
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def _on_disk(c: Candidate) -> bool:
    return (Path(c.path) / "adapter_config.json").is_file()


def candidate_refs(config: AppConfig, experts: Iterable[str]) -> list[AdapterRef]:
    """Adapters of the active candidates of these experts, for a pool the Assessor builds (only
    those whose directory exists: a missing LoRA would fail the whole engine batch)."""
    wanted = set(experts)
    refs = []
    for c in active_candidates(config).values():
        if c.expert not in wanted:
            continue
        if _on_disk(c):
            refs.append(c.ref)
        else:
            _warn_once(f"{c.expert} v{c.version} candidate adapter not found at {c.path}")
    return refs


_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(message: str) -> None:
    with _warned_lock:
        if message in _warned:
            return
        _warned.add(message)
    log.warning(message)


def _servable(c: Candidate, pool: ModelInfo) -> bool:
    if c.ref.name in pool.adapters or (pool.loads_candidates and _on_disk(c)):
        return True
    _warn_once(
        f"{c.expert} v{c.version} is in {c.mode} but the model pool has not loaded "
        f"{c.ref.name}: the incumbent serves and no {c.mode} samples are taken"
    )
    return False


def plan_run(
    config: AppConfig,
    run_id: str,
    experts: list[str],
    pool_info: Callable[[], ModelInfo],
    configured: dict[str, AdapterRef] | None = None,
) -> LivePlan | None:
    """Adapter routing for one run. An expert whose registry incumbent (activated or promoted)
    is not the `configured` adapter serves that version, so a promotion takes effect without a
    restart. Each canary expert goes to the candidate for its sticky share of run ids
    (`policy.route`, the rule `Registry.route` applies). None when nothing changes.
    `pool_info` says what the pool can serve; it is only called when something is active."""
    if run_id.startswith(NOT_LIVE):
        return None
    configured = configured or {}
    try:
        current, active = _read(config)  # one connection per run
        promoted = {
            e: c
            for e, c in current.items()
            if e in experts and (e not in configured or not _same_dir(configured[e].path, c.path))
        }
        canaries = {e: c for e, c in active.items() if e in experts and c.mode == "canary"}
        info = pool_info() if canaries or promoted else None
    except Exception as err:  # routing must never fail a run: the incumbents serve
        log.warning("canary routing skipped for run %s: %s", run_id, err)
        return None
    if info is None:
        return None
    plan = LivePlan(run_id)
    for e, c in promoted.items():
        if _servable(c, info):
            plan.adapters[e] = c.ref
    for e, c in canaries.items():
        if info is None or not _servable(c, info):
            continue
        arm = route(run_id, "canary", c.fraction, salt=e).serve
        plan.arms[e] = arm
        if arm == "candidate":
            plan.adapters[e] = c.ref
    return plan if plan.arms or plan.adapters else None


def record_run(config: AppConfig, plan: LivePlan | None, report: Report) -> None:
    """Record each canary expert's sample on the arm that served it, then apply the automatic
    rollback rule. Never raises: a registry problem must not fail a served run."""
    if plan is None or not plan.arms:
        return
    from crisis_mas.rollout.registry import Registry, samples_from_report

    try:
        reg = Registry(config.store, config.rollout)
        samples = samples_from_report(report, plan.arms)
        reg.record_many({e: [s] for e, s in samples.items() if e in plan.arms})
        for e in plan.arms:
            _check(reg, e)
    except Exception as err:
        log.warning("rollout samples of run %s not recorded: %s", report.run_id, err)


def _check(reg: Any, expert: str) -> None:
    verdict = reg.auto_check(expert)
    if verdict.action == "rollback":
        log.warning("%s candidate rolled back: %s", expert, "; ".join(verdict.reasons))


class LiveRouter:
    """The `AdapterRouter` of served runs: the registry's candidates, canaries and promotions."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config

    def extra_adapters(self, experts: list[str]) -> list[AdapterRef]:
        return candidate_refs(self.config, experts)

    def plan(
        self,
        run_id: str,
        experts: list[str],
        pool_info: Callable[[], ModelInfo],
        configured: dict[str, AdapterRef],
    ) -> LivePlan | None:
        return plan_run(self.config, run_id, experts, pool_info, configured)

    def record(self, plan: LivePlan | None, report: Report) -> None:
        record_run(self.config, plan, report)


def shadow_candidates(
    config: AppConfig, report: Report, pool_info: Callable[[], ModelInfo]
) -> dict[str, tuple[int, str]]:
    """Expert -> (version, path) of the shadow candidates of a served report's experts."""
    if report.run_id.startswith(NOT_LIVE):
        return {}
    served = {a.expert_id for a in report.assessments}
    shadows = {
        e: c for e, c in active_candidates(config).items() if e in served and c.mode == "shadow"
    }
    if not shadows:
        return {}
    info = pool_info()
    return {e: (c.version, c.path) for e, c in shadows.items() if _servable(c, info)}


def run_shadows(
    assessor: Assessor,
    scenario: Scenario,
    report: Report,
    candidates: dict[str, tuple[int, str]] | None = None,
) -> Report | None:
    """Run the active shadow candidates beside a served report (after it was returned), record
    the paired samples, apply the rollback rule and log the comparison. The shadow report never
    reaches the served decision. Returns it (None when no shadow is active)."""
    from crisis_mas.rollout.registry import Registry
    from crisis_mas.rollout.shadow import run_shadow

    config = assessor.config
    if candidates is None:
        candidates = shadow_candidates(config, report, assessor.pool.info)
    if not candidates:
        return None
    counter = shadow_counter()
    try:
        reg = Registry(config.store, config.rollout)
        shadow = run_shadow(assessor, scenario, report, candidates, reg)
        for e in candidates:
            _check(reg, e)
    except Exception as err:
        counter.labels("failed").inc()
        log.warning("shadow run of %s failed: %s", report.run_id, err)
        return None
    counter.labels("ran").inc()
    if shadow is not None:
        served = {a.expert_id: a for a in report.assessments}
        for b in shadow.assessments:
            a = served[b.expert_id]
            log.info(
                "shadow %s %s: %s %s first=%s (incumbent %s %s first=%s), %.0f ms",
                report.run_id,
                b.expert_id,
                b.adapter,
                b.status,
                b.recommended,
                a.adapter,
                a.status,
                a.recommended,
                b.latency_ms,
            )
    return shadow


_METRICS: dict[str, Any] = {}
_metrics_lock = threading.Lock()


def shadow_counter() -> Any:
    """`crisis_mas_shadow_runs_total{outcome=ran|failed|skipped}` in the ops metrics registry."""
    with _metrics_lock:
        if "shadow" not in _METRICS:
            from prometheus_client import Counter

            from crisis_mas.middleware.metrics import REGISTRY

            _METRICS["shadow"] = Counter(
                "crisis_mas_shadow_runs",
                "Shadow rollout runs: ran, failed, or skipped because one was already running.",
                ("outcome",),
                registry=REGISTRY,
            )
        return _METRICS["shadow"]
