"""The knowledge-base passages each expert reads: its own domains plus the shared ones."""

from __future__ import annotations

import time
from typing import Any

from crisis_mas.experts.profiles import ExpertProfile
from crisis_mas.experts.prompting import retrieval_query
from crisis_mas.scenario import Scenario


def retrieve_passages(
    retriever: Any, scenario: Scenario, profiles: list[ExpertProfile], trace: Any
) -> dict[str, list[dict]]:
    """Expert id -> retrieved passages (as dicts); empty lists when retrieval is off."""
    if retriever is None:
        return {p.id: [] for p in profiles}
    query = retrieval_query(scenario)
    out = {}
    for p in profiles:
        t = time.perf_counter()
        hits = retriever.search_for_expert(query, p.domains, focus=p.role)
        ms = (time.perf_counter() - t) * 1000
        out[p.id] = [h.model_dump() for h in hits]
        trace.retrieval(p.id, query, out[p.id], ms)
    return out
