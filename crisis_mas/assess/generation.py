"""All experts' answers in one batched multi-LoRA call: each expert's prompt with its adapter,
a sampled retry for answers out of format, and one re-query with the corrections for answers
that contradict the HAZMAT reference tables or name things nothing grounds (the `grounding`
link's flags). A re-asked expert keeps whichever of its two answers is in format with fewer
such flags (the new one on a tie)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from crisis_mas.config import AppConfig
from crisis_mas.experts.assessment import ParsedAnswer, parse_answer
from crisis_mas.experts.profiles import ExpertProfile
from crisis_mas.experts.prompting import (
    assessment_messages,
    prompt_version,
    references_block,
    templates,
)
from crisis_mas.middleware.grounding import CUT_TAG as GROUNDING_CUT_TAG
from crisis_mas.middleware.grounding import EXTRA_TAG as GROUNDING_EXTRA_TAG
from crisis_mas.middleware.guard import PASSAGES_TAG
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
GROUNDING_FLAG = "ungrounded_claim"


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
    # The request behind `result` (what the grounding check read as citable).
    request: GenerationRequest | None = None
    grounding_requeried: bool = False

    @property
    def answer_text(self) -> str:
        return self.result.text.rstrip() if self.result is not None else ""

    def part_tags(self) -> dict[str, str]:
        """The kept request's tags that say who wrote which part of its user message (passages
        span, our correction), for a follow-up call on the same messages (catalogue choice)."""
        tags = self.request.tags if self.request is not None else {}
        return {k: tags[k] for k in (PASSAGES_TAG, GROUNDING_CUT_TAG) if k in tags}

    @property
    def ungrounded(self) -> list[dict]:
        return [f for f in self.flags if f.get("type") == GROUNDING_FLAG]

    def badness(self) -> tuple[int, int]:
        """(HAZMAT contradictions, ungrounded claims): what a re-query tries to lower."""
        return (sum(f.get("type") == HAZMAT_FLAG for f in self.flags), len(self.ungrounded))


def scenario_text(s: Scenario) -> str:
    """Every string of the scenario, one per line: what an answer may cite beyond the prompt
    (municipality, Greek names, required resources), for the `grounding` link."""
    out: list[str] = []

    def walk(v: object) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for k, x in v.items():
                out.append(str(k))
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(str(v))

    walk(s.model_dump(mode="json"))
    return "\n".join(out)


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
        prefixes: dict[str, str] | None = None,
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
            GROUNDING_EXTRA_TAG: self.scenario_text,
            **hazard_tags(self.scenario),
        }
        out = []
        for p in profiles:
            correction = (corrections or {}).get(p.id)
            messages = assessment_messages(p, self.scenario, self.passages.get(p.id), correction)
            extra = {"expert": p.id, "attempt": str(attempt)}
            refs = references_block(self.passages.get(p.id))
            at = messages[-1].content.find(refs + "\nALTERNATIVES:") if refs else -1
            if at >= 0:  # retrieved passages: the input guard judges them as passages
                extra[PASSAGES_TAG] = f"{at}:{at + len(refs)}"
            if correction:  # the correction quotes the flagged items: it grounds nothing
                plain = assessment_messages(p, self.scenario, self.passages.get(p.id))
                extra[GROUNDING_CUT_TAG] = str(len(plain[-1].content))
            out.append(
                GenerationRequest(
                    messages=messages,
                    adapter=self.adapters.get(p.id),
                    sampling=SamplingConfig.model_validate(sampling.model_dump()),
                    assistant_prefix=(prefixes or {}).get(p.id, templates()["answer_prefix"]),
                    tags={**tags, **extra},
                )
            )
        return out

    @cached_property
    def scenario_text(self) -> str:
        return scenario_text(self.scenario)

    def answer(self, profiles: list[ExpertProfile]) -> dict[str, ExpertCall]:
        """All experts' answers in one batch; retry invalid ones; re-query HAZMAT errors once."""
        state = {p.id: ExpertCall() for p in profiles}
        todo = list(profiles)
        for attempt in range(self.config.agents.max_retries + 1):
            if not todo:
                break
            # A retry keeps the expert's own rationale (and concerns) from its answer out of
            # format and prefills the next section header of the trained format.
            prefixes = (
                {p.id: repair_prefix(state[p.id].answer_text) for p in todo} if attempt else None
            )
            self._call(todo, attempt, state, prefixes=prefixes)
            todo = [p for p in todo if state[p.id].parsed is None and state[p.id].error is None]

        # Re-query once, with the corrections as feedback, any expert that contradicted the
        # HAZMAT tables or named things nothing grounds.
        grounding = self.config.ops.grounding
        corrections = _corrections(
            state, grounding.requery_min_ungrounded if grounding.requery else None
        )
        if corrections:
            again = [p for p in profiles if p.id in corrections]
            for p in again:
                s = state[p.id]
                s.requeried = any(f.get("type") == HAZMAT_FLAG for f in s.flags)
                s.grounding_requeried = bool(s.ungrounded)
            self._call(again, 0, state, corrections, keep_better=True)
        return state

    def _call(
        self,
        todo: list[ExpertProfile],
        attempt: int,
        state: dict[str, ExpertCall],
        corrections: dict[str, str] | None = None,
        keep_better: bool = False,
        prefixes: dict[str, str] | None = None,
    ) -> None:
        reqs = self.requests(todo, attempt, corrections, prefixes)
        try:
            results = self.pool.generate(reqs)
        except ModelPoolError as err:
            for p in todo:
                if not keep_better or state[p.id].parsed is None:
                    state[p.id].error = str(err)
            return
        for p, req, res in zip(todo, reqs, results, strict=True):
            s = state[p.id]
            s.attempts += 1
            s.latency_ms += res.latency_ms
            s.prompt_tokens += res.prompt_tokens
            s.completion_tokens += res.completion_tokens
            if res.blocked:
                if not keep_better or s.parsed is None:
                    s.result, s.messages, s.request = res, req.messages, req
                    s.flags, s.error = list(res.flags), res.text
                continue
            parsed = parse_answer(res.text)
            if keep_better and s.parsed is not None:
                new = ExpertCall(flags=list(res.flags))
                if parsed is None or new.badness() > s.badness():
                    continue  # the first answer stays, with its own flags
            if parsed is not None or s.parsed is None:
                s.parsed = parsed
            s.result, s.messages, s.request = res, req.messages, req
            s.flags = list(res.flags)


_SECTION = re.compile(r"^\s*(rationale|key concerns|immediate actions)\s*:\s*(.*)$", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(\S.*)$")


def repair_prefix(text: str, max_rationale: int = 400) -> str:
    """The start of a retry for an answer out of format: its own rationale (first line, when
    it has one) and its concerns (when it listed any), then the next header of the trained
    format, so the model only has to continue the section it skipped."""
    rationale, concerns, section = "", [], None
    for line in text.splitlines():
        m = _SECTION.match(line)
        if m:
            section = m.group(1).lower()
            if section == "rationale" and not rationale:
                rationale = m.group(2).strip()
            continue
        b = _BULLET.match(line)
        if section == "key concerns" and b:
            concerns.append(b.group(1).strip())
        elif line.strip():
            section = None if section == "key concerns" else section
    if len(rationale) < 10:
        return templates()["answer_prefix"]
    if len(rationale) > max_rationale:
        cut = rationale[:max_rationale]
        rationale = cut[: cut.rfind(". ") + 1] if ". " in cut else cut
    out = f"Rationale: {rationale}\nKey concerns:\n"
    if concerns:
        return out + "".join(f"- {c}\n" for c in concerns[:6]) + "Immediate actions:\n- "
    return out + "- "


def _corrections(state: dict[str, ExpertCall], min_ungrounded: int | None) -> dict[str, str]:
    """Expert id -> the correction text for answers in format that contradict the HAZMAT tables
    or carry at least `min_ungrounded` ungrounded claims (None: grounding re-query off)."""
    out = {}
    for eid, s in state.items():
        if s.requeried or s.grounding_requeried or s.result is None or s.result.blocked:
            continue
        lines = []
        found = [f for f in s.flags if f.get("type") == HAZMAT_FLAG]
        if found:
            from crisis_mas.safety.hazmat import Finding, format_corrections

            lines.append(format_corrections([Finding.model_validate(f) for f in found]))
        if (
            min_ungrounded is not None
            and s.parsed is not None
            and len(s.ungrounded) >= min_ungrounded
        ):
            items = dict.fromkeys(str(f.get("item", "")) for f in s.ungrounded)
            lines += [
                f"- '{i}' is in neither the scenario nor the references: name only the places, "
                "services, resources and figures given above."
                for i in items
                if i
            ]
        if lines:
            out[eid] = "\n".join(lines)
    return out
