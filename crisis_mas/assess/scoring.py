"""Each expert's answer turned into beliefs over the scenario's alternatives, then into its
typed `Assessment` (ok, a marked fallback on its doctrine prior, or failed)."""

from __future__ import annotations

from crisis_mas.assess.generation import HAZMAT_FLAG, ExpertCall, hazard_tags
from crisis_mas.config import AppConfig
from crisis_mas.experts.assessment import (
    Assessment,
    Citation,
    TokenUsage,
    beliefs_from_logprobs,
    confidence_of,
    doctrine_prior,
)
from crisis_mas.experts.profiles import ExpertProfile
from crisis_mas.experts.prompting import prompt_version, scoring_messages, templates
from crisis_mas.pool.base import ModelPool, ModelPoolError
from crisis_mas.pool.types import AdapterRef, ScoreRequest
from crisis_mas.scenario import Scenario


def score_answers(
    config: AppConfig,
    pool: ModelPool,
    scenario: Scenario,
    profiles: list[ExpertProfile],
    state: dict[str, ExpertCall],
    passages: dict[str, list[dict]],
    run_id: str,
    adapters: dict[str, AdapterRef],
) -> list[Assessment]:
    """One batched scoring call for every answer in format; an Assessment per expert."""
    ids = scenario.alternative_ids
    # "Recommended:" + " <id>": the id keeps its leading space, so it is tokenised the way the
    # adapter saw it in training (" action", "_x", ...), not as a stray space token.
    prefix = templates()["recommend_prefix"].rstrip()
    scorable = [p for p in profiles if state[p.id].parsed is not None]
    reqs = [
        ScoreRequest(
            messages=scoring_messages(p, scenario),
            prefix=state[p.id].answer_text + "\n" + prefix,
            continuations=[" " + i for i in ids],
            adapter=adapters.get(p.id),
            tags={
                "run_id": run_id,
                "expert": p.id,
                "kind": "assessment",
                "prompt_version": str(prompt_version()),
                **hazard_tags(scenario),
            },
        )
        for p in scorable
    ]
    scores = {}
    score_error = None
    if reqs:
        try:
            scores = {p.id: r for p, r in zip(scorable, pool.score(reqs), strict=True)}
        except ModelPoolError as err:
            score_error = str(err)

    out = []
    for p in profiles:
        s = state[p.id]
        adapter = adapters.get(p.id)
        common = dict(
            expert_id=p.id,
            expert_name=f"{p.persona_name}, {p.title}",
            adapter=adapter.name if adapter else None,
            latency_ms=round(s.latency_ms, 1),
            tokens=TokenUsage(prompt=s.prompt_tokens, completion=s.completion_tokens),
            attempts=s.attempts,
            cached=bool(s.result is not None and s.result.cached),
            flags=s.flags,
            hazmat_requeried=s.requeried,
            hazmat_contradicts=any(f.get("type") == HAZMAT_FLAG for f in s.flags),
            raw_text=s.result.text if s.result is not None else "",
            citations=[
                Citation(doc_id=h["doc_id"], chunk_id=h["chunk_id"], title=h["title"])
                for h in passages.get(p.id, [])
            ],
        )
        if s.error is not None and s.parsed is None:
            out.append(Assessment(status="failed", error=s.error, **common))
            continue
        parsed = s.parsed
        if parsed is not None and p.id in scores:
            sr = scores[p.id]
            beliefs = beliefs_from_logprobs(
                ids, sr.logprobs, sr.token_counts, config.agents.belief_temperature
            )
            common["latency_ms"] = round(s.latency_ms + sr.latency_ms, 1)
            common["tokens"] = TokenUsage(
                prompt=s.prompt_tokens + sr.prompt_tokens, completion=s.completion_tokens
            )
            out.append(
                Assessment(
                    status="ok",
                    beliefs=beliefs,
                    confidence=round(confidence_of(beliefs), 4),
                    recommended=max(beliefs, key=beliefs.__getitem__),
                    rationale=parsed.rationale,
                    key_concerns=parsed.key_concerns,
                    immediate_actions=parsed.immediate_actions,
                    **common,
                )
            )
            continue
        reason = (
            f"scoring failed: {score_error}"
            if parsed is not None
            else f"model output did not follow the assessment format after {s.attempts} attempt(s)"
        )
        beliefs = doctrine_prior(p, scenario)
        out.append(
            Assessment(
                status="fallback",
                fallback_reason=reason + "; beliefs are this expert's doctrine prior "
                "(criteria weights x alternative scores), not model output",
                beliefs=beliefs,
                confidence=round(confidence_of(beliefs), 4),
                recommended=max(beliefs, key=beliefs.__getitem__),
                rationale=parsed.rationale if parsed else "",
                key_concerns=parsed.key_concerns if parsed else [],
                immediate_actions=parsed.immediate_actions if parsed else [],
                **common,
            )
        )
    return out
