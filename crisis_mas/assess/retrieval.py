"""The knowledge-base passages each expert reads: its own domains plus the shared ones.

All the experts' queries go to the retriever in one call (`Retriever.search_for_experts`), so
the run embeds them in one batch instead of once per expert.
"""

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
    if retriever is None or not profiles:
        return {p.id: [] for p in profiles}
    query = retrieval_query(scenario)
    t = time.perf_counter()
    hits = retriever.search_for_experts([(query, p.domains, p.role) for p in profiles])
    ms = (time.perf_counter() - t) * 1000 / len(profiles)  # one batch, its time shared out
    out = {}
    for p, found in zip(profiles, hits, strict=True):
        out[p.id] = [h.model_dump() for h in found]
        trace.retrieval(p.id, query, out[p.id], ms)
    return out
