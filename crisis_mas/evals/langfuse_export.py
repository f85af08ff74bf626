"""Export an eval run to Langfuse as a dataset experiment run, when Langfuse is configured.

The suite becomes a dataset (one item per scenario: input = the scenario, expected output = its
labels); the eval run becomes an experiment whose task returns the stored score (nothing is re-run)
and whose evaluators report our label metrics. Best effort: an error is logged, never raised.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from crisis_mas.evals.labels import LabelledScenario
from crisis_mas.evals.results import EvalRun

if TYPE_CHECKING:
    from crisis_mas.config import AppConfig

log = logging.getLogger("crisis_mas.evals.langfuse")


def dataset_name(suite: str) -> str:
    return f"crisis-mas-{suite}"


def export_eval_run(
    run: EvalRun, items: list[LabelledScenario], client: Any = None, config: AppConfig | None = None
) -> str | None:
    """Upload `run` as a Langfuse experiment on the suite's dataset; the run name, or None."""
    if client is None and config is not None:
        from crisis_mas.middleware.tracing import get_tracer

        client = getattr(get_tracer(config.ops, config.model.base), "client", None)
    if client is None:
        return None
    name = dataset_name(run.suite)
    first = {}
    for s in run.scores:
        first.setdefault(s.scenario_id, s)
    try:
        try:
            client.create_dataset(name=name, description=f"crisis-mas eval suite {run.suite}")
        except Exception as err:  # already exists: items are upserted by id below
            log.debug("langfuse: create_dataset %s: %s", name, err)
        for x in items:
            client.create_dataset_item(
                dataset_name=name,
                id=f"{run.suite}-{x.scenario.id}",
                input={
                    "scenario_id": x.scenario.id,
                    "name": x.scenario.name,
                    "type": x.scenario.type,
                },
                expected_output={
                    "acceptable": x.labels.acceptable,
                    "unacceptable": sorted(x.labels.unacceptable_ids),
                },
            )
        from langfuse import Evaluation

        def task(*, item: Any, **_: Any) -> dict[str, Any]:
            sid = (item.input or {}).get("scenario_id")
            s = first.get(sid)
            return s.model_dump() if s is not None else {"missing": sid}

        def metrics(*, output: dict[str, Any], **_: Any) -> list[Any]:
            if "missing" in output:
                return []
            return [
                Evaluation(name="top1_acceptable", value=float(output["top1_acceptable"])),
                Evaluation(name="unacceptable_chosen", value=float(output["unacceptable_chosen"])),
                Evaluation(
                    name="hazmat_contradictions", value=float(output["n_hazmat_contradictions"])
                ),
                Evaluation(name="fact_errors", value=float(len(output["fact_errors"]))),
                Evaluation(name="latency_ms", value=float(output["latency_ms"])),
            ]

        run_name = f"{run.config}-{run.eval_id}"
        client.get_dataset(name).run_experiment(
            name=run.config,
            run_name=run_name,
            task=task,
            evaluators=[metrics],
            metadata={"eval_id": run.eval_id, "model": run.model, **run.metrics.model_dump()},
        )
        client.flush()
        return run_name
    except Exception as err:
        log.warning("langfuse: exporting eval %s failed: %s", run.eval_id, err)
        return None
