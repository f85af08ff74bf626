"""All experts' answers in one batched multi-LoRA call: each expert's prompt with its adapter,
a sampled retry for answers out of format, and one re-query with the correction for answers
that contradict the HAZMAT reference tables."""

from __future__ import annotations

from dataclasses import dataclass, field

from crisis_mas.config import AppConfig
from crisis_mas.experts.assessment import ParsedAnswer, parse_answer
from crisis_mas.experts.profiles import ExpertProfile
from crisis_mas.experts.prompting import assessment_messages, prompt_version, templates
from crisis_mas.pool.base import ModelPool, ModelPoolError
from crisis_mas.pool.types import (
    AdapterRef,
    ChatMessage,
    GenerationRequest,
    GenerationResult,
    SamplingConfig,
)
from crisis_mas.scenario import Scenario

HAZMAT_FLAG = "hazmat_contradiction"


@dataclass
class ExpertCall:
    """One expert's model calls during a run: the latest answer, its parse, and the totals."""

    result: GenerationResult | None = None
    parsed: ParsedAnswer | None = None
    messages: list[ChatMessage] | None = None
    attempts: int = 0
    error: str | None = None
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    flags: list[dict] = field(default_factory=list)
    requeried: bool = False

    @property
    def answer_text(self) -> str:
        return self.result.text.rstrip() if self.result is not None else ""


def hazard_tags(s: Scenario) -> dict[str, str]:
    """Request tags the HAZMAT validator and the cache read (type, hazards, UN number)."""
    tags = {"scenario_type": s.type, "hazards": ",".join(sorted({s.type, *s.tags}))}
    hz = s.expert_selection.hazmat_specific
    if hz is not None and hz.un_number:
        tags["un_number"] = hz.un_number
    return tags


@dataclass
class AnswerBatch:
    """What every generation request of one run shares."""

    config: AppConfig
    pool: ModelPool
    scenario: Scenario
    passages: dict[str, list[dict]]
    run_id: str
    adapters: dict[str, AdapterRef]
    kb_version: str

    def requests(
        self,
        profiles: list[ExpertProfile],
        attempt: int,
        corrections: dict[str, str] | None = None,
    ) -> list[GenerationRequest]:
        base = self.config.model.sampling
        stop = [templates()["recommend_prefix"].strip()]
        sampling = base.model_copy(update={"stop": stop})
        if attempt > 0:  # a retry samples, so it does not repeat the same invalid answer
            sampling = sampling.model_copy(update={"temperature": 0.7, "seed": attempt})
        tags = {
            "run_id": self.run_id,
            "kind": "assessment",
            "prompt_version": str(prompt_version()),
            "kb_version": self.kb_version,
            **hazard_tags(self.scenario),
        }
        return [
            GenerationRequest(
                messages=assessment_messages(
                    p, self.scenario, self.passages.get(p.id), (corrections or {}).get(p.id)
                ),
                adapter=self.adapters.get(p.id),
                sampling=SamplingConfig.model_validate(sampling.model_dump()),
                assistant_prefix=templates()["answer_prefix"],
                tags={**tags, "expert": p.id, "attempt": str(attempt)},
            )
            for p in profiles
        ]

    def answer(self, profiles: list[ExpertProfile]) -> dict[str, ExpertCall]:
        """All experts' answers in one batch; retry invalid ones; re-query HAZMAT errors once."""
        state = {p.id: ExpertCall() for p in profiles}
        todo = list(profiles)
        for attempt in range(self.config.agents.max_retries + 1):
            if not todo:
                break
            self._call(todo, attempt, state)
            todo = [p for p in todo if state[p.id].parsed is None and state[p.id].error is None]

        # HAZMAT: re-query once, with the correction as feedback, any expert that contradicted.
        corrections = _corrections(state)
        if corrections:
            again = [p for p in profiles if p.id in corrections]
            for p in again:
                state[p.id].requeried = True
            self._call(again, 0, state, corrections)
        return state

    def _call(
        self,
        todo: list[ExpertProfile],
        attempt: int,
        state: dict[str, ExpertCall],
        corrections: dict[str, str] | None = None,
    ) -> None:
        reqs = self.requests(todo, attempt, corrections)
        try:
            results = self.pool.generate(reqs)
        except ModelPoolError as err:
            for p in todo:
                state[p.id].error = str(err)
            return
        for p, req, res in zip(todo, reqs, results, strict=True):
            s = state[p.id]
            s.attempts += 1
            s.latency_ms += res.latency_ms
            s.prompt_tokens += res.prompt_tokens
            s.completion_tokens += res.completion_tokens
            s.result, s.messages = res, req.messages
            s.flags = list(res.flags)
            if res.blocked:
                s.error = res.text
                continue
            parsed = parse_answer(res.text)
            if parsed is not None or s.parsed is None:
                s.parsed = parsed


def _corrections(state: dict[str, ExpertCall]) -> dict[str, str]:
    """Expert id -> the correction text for answers that contradict the HAZMAT tables."""
    out = {}
    for eid, s in state.items():
        found = [f for f in s.flags if f.get("type") == HAZMAT_FLAG]
        if found and not s.requeried:
            from crisis_mas.safety.hazmat import Finding, format_corrections

            out[eid] = format_corrections([Finding.model_validate(f) for f in found])
    return out
