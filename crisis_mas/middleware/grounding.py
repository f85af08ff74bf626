"""The `grounding` chain link: every place, service, unit, resource and figure in a generated
answer must trace to what the request gave the model or to the reference tables.

What a request may cite is read from the request itself: its messages (persona, scenario,
retrieved passages), plus the tag `grounding_extra` (scenario fields the prompt does not show)
and the static references registered with `add_static_reference` (the roster). The tag
`grounding_cut` (characters) ends the citable part of the last user message, so a re-query's
correction, which quotes the ungrounded items, never grounds them. Ungrounded claims become
`ungrounded_claim` flags on the result (the item and why); per-expert claim counts go to
Prometheus (`crisis_mas_grounding_claims_total`, `crisis_mas_grounded_claim_rate`).
Sits inside the input guard and outside the cache, so cached answers are checked too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from crisis_mas.middleware.chain import CallNext, Middleware, Op
from crisis_mas.pool.types import GenerationRequest, GenerationResult
from crisis_mas.safety.config import GroundingConfig
from crisis_mas.safety.grounding import Reference, check

if TYPE_CHECKING:
    from crisis_mas.middleware.config import OpsConfig

log = logging.getLogger("crisis_mas.middleware.grounding")

EXTRA_TAG = "grounding_extra"
CUT_TAG = "grounding_cut"

_static: dict[str, tuple[str, ...]] = {}
_static_ref: Reference | None = None
_static_lock = threading.Lock()


def add_static_reference(name: str, texts: Iterable[str]) -> None:
    """Register texts every answer may cite (the roster); replaces an earlier set of that name."""
    global _static_ref
    with _static_lock:
        _static[name] = tuple(texts)
        _static_ref = None


def static_reference() -> Reference:
    global _static_ref
    with _static_lock:
        if _static_ref is None:
            _static_ref = Reference([t for texts in _static.values() for t in texts])
        return _static_ref


def reference_for(request: GenerationRequest) -> Reference:
    """What `request` lets its answer cite (see the module docstring)."""
    texts = [m.content for m in request.messages]
    cut = request.tags.get(CUT_TAG)
    if cut and cut.isdigit():
        last = max(i for i, m in enumerate(request.messages) if m.role == "user")
        texts[last] = texts[last][: int(cut)]
    extra = request.tags.get(EXTRA_TAG)
    if extra:
        texts.append(extra)
    return Reference(texts, base=static_reference())


_instruments: tuple[Any, Any] | None = None
_instruments_lock = threading.Lock()


def _metrics() -> tuple[Any, Any]:
    """The Prometheus counter and gauge, in the metrics link's registry (made once)."""
    global _instruments
    with _instruments_lock:
        if _instruments is None:
            from prometheus_client import Counter, Gauge

            from crisis_mas.middleware.metrics import REGISTRY

            _instruments = (
                Counter(
                    "crisis_mas_grounding_claims",
                    "Claims (places, services, units, resources, figures) in checked answers.",
                    ("expert", "grounded"),
                    registry=REGISTRY,
                ),
                Gauge(
                    "crisis_mas_grounded_claim_rate",
                    "Grounded claims / claims in checked answers since process start.",
                    ("expert",),
                    registry=REGISTRY,
                ),
            )
        return _instruments


class GroundingLink(Middleware):
    """Flags the ungrounded claims of generated answers (scores carry no text)."""

    name = "grounding"
    ops = frozenset({"generate"})

    def __init__(self, config: GroundingConfig | None = None):
        self.config = config or GroundingConfig()
        self._lock = threading.Lock()
        self.counts = {"checked": 0, "claims": 0, "grounded": 0, "flagged": 0}
        self._per_expert: dict[str, list[int]] = {}

    def _wanted(self, result: GenerationResult, tags: dict[str, str]) -> bool:
        return self.config.enabled and not result.blocked and tags.get("kind") in self.config.kinds

    def annotate(self, request: GenerationRequest, result: GenerationResult) -> GenerationResult:
        """A copy of `result` with one flag per ungrounded claim."""
        if not self._wanted(result, request.tags):
            return result
        claims = check(result.text, reference_for(request), request.tags)
        bad = [c for c in claims if not c.grounded]
        self._count(request.tags.get("expert") or "none", len(claims), len(claims) - len(bad))
        if not bad:
            return result
        known = {(f.get("type"), f.get("item")) for f in result.flags}
        flags = [c.to_flag() for c in bad if (c.to_flag()["type"], c.text) not in known]
        return result.model_copy(update={"flags": [*result.flags, *flags]})

    def _count(self, expert: str, claims: int, grounded: int) -> None:
        with self._lock:
            self.counts["checked"] += 1
            self.counts["claims"] += claims
            self.counts["grounded"] += grounded
            self.counts["flagged"] += claims > grounded
            tot = self._per_expert.setdefault(expert, [0, 0])
            tot[0] += claims
            tot[1] += grounded
            rate = tot[1] / tot[0] if tot[0] else None
        try:
            counter, gauge = _metrics()
            if grounded:
                counter.labels(expert, "true").inc(grounded)
            if claims > grounded:
                counter.labels(expert, "false").inc(claims - grounded)
            if rate is not None:
                gauge.labels(expert).set(rate)
        except Exception as err:  # recording never fails a request
            log.warning("grounding metrics: %s", err)

    def around(
        self, op: Op, requests: list[GenerationRequest], call_next: CallNext
    ) -> list[GenerationResult]:
        results = call_next(requests)
        by_id = {r.request_id: r for r in requests}
        out = []
        for i, res in enumerate(results):
            req = by_id.get(res.request_id) or (requests[i] if i < len(requests) else None)
            out.append(self.annotate(req, res) if req is not None else res)
        return out

    def health(self) -> dict:
        with self._lock:
            c = dict(self.counts)
        rate = c["grounded"] / c["claims"] if c["claims"] else None
        return {"ok": True, "enabled": self.config.enabled, **c, "grounded_rate": rate}


def grounding_link(ops: OpsConfig, model_base: str) -> GroundingLink:
    """Factory named in `crisis_mas.middleware.chain.LINKS['grounding']`."""
    return GroundingLink(getattr(ops, "grounding", None))
