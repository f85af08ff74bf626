"""The `hazmat` chain link: validates every model answer's HAZMAT figures against the tables.

Contradicted figures become `hazmat_contradiction` flags on the result; the agents re-ask the
expert once with `format_corrections(...)` and down-weight it if it still contradicts. The
request tags `un_number` / `hazards` tell the validator which substance an answer is about
when the answer itself names none ("the IDLH is 10 ppm").
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from crisis_mas.middleware.chain import CallNext, Middleware, Op
from crisis_mas.pool.types import GenerationRequest, GenerationResult
from crisis_mas.safety.config import HazmatConfig
from crisis_mas.safety.hazmat.reference import table_versions
from crisis_mas.safety.hazmat.validator import validate_text

if TYPE_CHECKING:
    from crisis_mas.middleware.config import OpsConfig


class HazmatLink(Middleware):
    """Validates the HAZMAT figures of generated text (scores carry no text)."""

    name = "hazmat"
    ops = frozenset({"generate"})

    def __init__(self, config: HazmatConfig | None = None):
        self.config = config or HazmatConfig()
        self._lock = threading.Lock()
        self.checked = 0
        self.contradictions = 0

    def _wanted(self, result: GenerationResult, tags: dict[str, str]) -> bool:
        kind = tags.get("kind")
        return not result.blocked and (kind is None or kind in self.config.kinds)

    def annotate(self, result: GenerationResult, tags: dict[str, str]) -> GenerationResult:
        """A copy of `result` with a flag per contradicted (and optionally unverified) figure."""
        if not self._wanted(result, tags):
            return result
        findings = validate_text(result.text, tags)
        flags = [f.to_flag() for f in findings if f.verdict == "contradicts"]
        if self.config.flag_unknown:
            flags += [
                {**f.to_flag(), "type": "hazmat_unverified", "score": 0.2}
                for f in findings
                if f.verdict == "unknown"
            ]
        with self._lock:
            self.checked += 1
            self.contradictions += sum(f.verdict == "contradicts" for f in findings)
        if not flags:
            return result
        return result.model_copy(update={"flags": [*result.flags, *flags]})

    def around(
        self, op: Op, requests: list[GenerationRequest], call_next: CallNext
    ) -> list[GenerationResult]:
        results = call_next(requests)
        if not self.config.enabled:
            return results
        tags = {r.request_id: r.tags for r in requests}
        out = []
        for i, res in enumerate(results):
            t = tags.get(res.request_id)
            if t is None:
                t = requests[i].tags if i < len(requests) else {}
            out.append(self.annotate(res, t))
        return out

    def health(self) -> dict:
        return {
            "ok": True,
            "enabled": self.config.enabled,
            "checked": self.checked,
            "contradictions": self.contradictions,
            "tables": {k: v.get("version") for k, v in table_versions().items()},
        }


def hazmat_link(ops: OpsConfig, model_base: str) -> HazmatLink:
    """Factory named in `crisis_mas.middleware.chain.LINKS['hazmat']`."""
    return HazmatLink(ops.hazmat)
