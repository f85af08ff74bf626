"""Shadow mode helpers: what a candidate run looks like beside the incumbent's, and the samples
it yields. The shadow report is logged and compared only; it never reaches `decide`."""

from __future__ import annotations

from crisis_mas.report import Report
from crisis_mas.rollout.policy import Sample
from crisis_mas.serving.types import AdapterRef

SHADOW_ID_BASE = 1000  # LoRA int ids of shadow candidates: never collide with serving ids


def candidate_ref(expert: str, version: int, path: str) -> AdapterRef:
    """A distinct adapter identity for the candidate: vLLM caches LoRAs by int id, so reusing
    the incumbent's id would silently run the incumbent's weights."""
    return AdapterRef(name=f"{expert}@v{version}", id=SHADOW_ID_BASE + version, path=path)


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
