"""Runs a suite through the real `Assessor.run` (the one code path) and scores every report.

Reports are saved in the run store under `eval-<eval_id>-<scenario>-<i>` run ids, so they can be
inspected with `crisis-mas runs show`, and drift/feedback can tell them apart from live runs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from crisis_mas.evals.labels import load_suite, resolve_suite
from crisis_mas.evals.metrics import score_report
from crisis_mas.evals.results import EvalRun

if TYPE_CHECKING:
    from crisis_mas.assess import Assessor
    from crisis_mas.config import AppConfig

EVAL_RUN_PREFIX = "eval-"


def new_eval_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def run_suite(
    suite: str,
    config: AppConfig,
    config_label: str = "default",
    assessor: Assessor | None = None,
    repeats: int = 1,
    save_reports: bool = True,
    on_progress: Callable[[str], None] | None = None,
) -> EvalRun:
    """Assess every labelled scenario `repeats` times with one Assessor; score against labels."""
    from crisis_mas.report.records import run_record
    from crisis_mas.store import open_store

    items = load_suite(suite)
    own = assessor is None
    if assessor is None:
        from crisis_mas.assess import Assessor

        assessor = Assessor(config)
    store = open_store(config.store).runs if save_reports else None
    eval_id = new_eval_id()
    cost = config.ops.metrics
    scores = []
    t0 = time.perf_counter()
    try:
        for item in items:
            for i in range(repeats):
                run_id = f"{EVAL_RUN_PREFIX}{eval_id}-{item.scenario.id}-{i}"
                if on_progress:
                    on_progress(f"{item.scenario.id} ({i + 1}/{repeats})")
                report = assessor.run(item.scenario, None, run_id)
                if store is not None:
                    store.save(run_record(report))
                scores.append(
                    score_report(
                        report,
                        item.labels,
                        cost.cost_per_1k_prompt_tokens,
                        cost.cost_per_1k_completion_tokens,
                        item.scenario,
                    )
                )
        info = assessor.pool.info()
        adapters = {e: (a.name if a else None) for e, a in assessor.adapters.items()}
    finally:
        if own:
            assessor.close()
    return EvalRun(
        eval_id=eval_id,
        created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        suite=resolve_suite(suite).name,
        config=config_label,
        model=f"{info.base} on {info.backend}",
        adapters=adapters,
        scores=scores,
        wall_s=round(time.perf_counter() - t0, 2),
    )
