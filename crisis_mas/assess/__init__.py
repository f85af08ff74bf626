"""The one code path: scenario -> experts -> model pool (through the middleware chain) ->
coordinator -> report. The CLI, the Serve app, evals and the benchmarks all call `Assessor.run`.

- `retrieval`: the knowledge-base passages each expert reads.
- `generation`: all experts' answers in one batched multi-LoRA call, retries, HAZMAT re-query.
- `scoring`: each answer turned into beliefs over the scenario's alternatives.
- `assessor`: the run itself, its progress events, and the coordinator's decision.
"""

from crisis_mas.assess.assessor import Assessor, new_run_id
from crisis_mas.assess.events import EventSink, ProgressEvent
from crisis_mas.assess.routing import AdapterRouter, RoutedRun

__all__ = [
    "AdapterRouter",
    "Assessor",
    "EventSink",
    "ProgressEvent",
    "RoutedRun",
    "new_run_id",
]
