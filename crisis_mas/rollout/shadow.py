"""Shadow mode helpers: what a candidate run looks like beside the incumbent's, and the samples
it yields. The shadow report is logged and compared only; it never reaches `decide`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crisis_mas.pool.adapters import lora_ids
from crisis_mas.pool.types import AdapterRef, candidate_name
from crisis_mas.report.model import Report
from crisis_mas.rollout.policy import Sample
from crisis_mas.store import StoreRef

if TYPE_CHECKING:
    from crisis_mas.assess import Assessor
    from crisis_mas.rollout.registry import Registry
    from crisis_mas.scenario import Scenario

__all__ = ["candidate_name", "candidate_ref", "run_shadow", "shadow_samples"]


def candidate_ref(expert: str, version: int, path: str, store: StoreRef = None) -> AdapterRef:
    """A distinct adapter identity for the candidate (`expert@vN`, its id from the store's
    adapter ids): vLLM caches LoRAs by int id, so an id shared with the incumbent or with another
    expert's candidate would silently run the wrong weights."""
    name = candidate_name(expert, version)
    return AdapterRef(name=name, id=lora_ids([name], store)[name], path=path)


def shadow_samples(incumbent: Report, shadow: Report, expert: str) -> tuple[Sample, Sample] | None:
    """(incumbent sample, candidate sample) for one expert on one run, with first-choice
    agreement on the candidate sample; None when the expert is missing from either report."""
    a = next((x for x in incumbent.assessments if x.expert_id == expert), None)
    b = next((x for x in shadow.assessments if x.expert_id == expert), None)
    if a is None or b is None:
        return None
    inc = Sample(
        run_id=incumbent.run_id,
        arm="incumbent",
        error=a.status != "ok",
        hazmat=a.hazmat_contradicts,
        latency_ms=a.latency_ms,
    )
    cand = Sample(
        run_id=incumbent.run_id,
        arm="candidate",
        error=b.status != "ok",
        hazmat=b.hazmat_contradicts,
        latency_ms=b.latency_ms,
        agrees=a.recommended is not None and a.recommended == b.recommended,
    )
    return inc, cand


def run_shadow(
    assessor: Assessor,
    scenario: Scenario,
    incumbent: Report,
    candidates: dict[str, tuple[int, str]],
    registry: Registry | None = None,
) -> Report | None:
    """Run the shadow candidates (expert -> (version, adapter path)) on the same scenario, after
    the incumbent's report exists, and record paired samples. The shadow report is returned for
    logging only; it never feeds the served decision. Call it off the request path.

    It shares the assessor's (already chained) pool, so guards and HAZMAT checks see the
    candidate's answers too; the shadow assessor gets an empty chain so links are not doubled.
    """
    from crisis_mas.assess import Assessor as _Assessor

    experts = [e for e in candidates if any(a.expert_id == e for a in incumbent.assessments)]
    if not experts:
        return None
    cfg = assessor.config
    shadow_cfg = cfg.model_copy(update={"ops": cfg.ops.model_copy(update={"chain": []})})
    shadow = _Assessor(shadow_cfg, pool=assessor.pool, experts=experts)
    # Reuse the open knowledge base and the tracer: re-opening them per shadow would re-hash the
    # corpus and cache one tracer per config copy.
    shadow._retriever, shadow._tracer = assessor.retriever(), assessor.tracer()
    shadow.adapters = {
        **shadow.adapters,
        **{
            e: candidate_ref(e, v, p, cfg.store) for e, (v, p) in candidates.items() if e in experts
        },
    }
    report = shadow.run(scenario, experts, f"shadow-{incumbent.run_id}")
    if registry is not None:
        pairs = {e: shadow_samples(incumbent, report, e) for e in experts}
        registry.record_many({e: list(p) for e, p in pairs.items() if p is not None})
    return report
