"""Each expert's answer turned into beliefs over the scenario's alternatives and one catalogue
action, then into its typed `Assessment` (ok, a marked fallback on its doctrine prior, or failed).

Beliefs: the likelihood of each alternative id (in the canonical, sorted order) after the
expert's own generation prompt and answer, which hold every scenario fact; the scoring context
continues the generation, so the engine reuses its KV cache and computes only a few tokens per
alternative. Calibrated by default against the same ids after a content-free prompt that lists
the same alternatives (`agents.belief_calibration`). Catalogue action: one batched, constrained
(guided-choice) continuation of the same context (`experts.catalogue.choice`).
"""

from __future__ import annotations

from crisis_mas.assess.baselines import BaselineMemo
from crisis_mas.assess.generation import HAZMAT_FLAG, ExpertCall, hazard_tags
from crisis_mas.config import AppConfig
from crisis_mas.experts.assessment import (
    Assessment,
    Citation,
    TokenUsage,
    beliefs_from_logprobs,
    calibrated_beliefs,
    confidence_of,
    doctrine_prior,
    top_choice,
)
from crisis_mas.experts.catalogue.choice import CatalogueChoice, options_for, parse_choice
from crisis_mas.experts.profiles import ExpertProfile
from crisis_mas.experts.prompting import (
    assessment_messages,
    content_free_answer,
    content_free_messages,
    prompt_version,
    scoring_prefix,
)
from crisis_mas.pool.base import ModelPool, ModelPoolError
from crisis_mas.pool.types import (
    AdapterRef,
    ChatMessage,
    GenerationRequest,
    SamplingConfig,
    ScoreRequest,
    ScoreResult,
)
from crisis_mas.scenario import Scenario

CATALOGUE_PREFIX = "\nCatalogue action: "


def _messages(p: ExpertProfile, scenario: Scenario, call: ExpertCall) -> list[ChatMessage]:
    """The messages the kept answer was generated from (so scoring shares its prefix)."""
    return call.messages or assessment_messages(p, scenario)


def score_requests(
    config: AppConfig,
    scenario: Scenario,
    scorable: list[ExpertProfile],
    state: dict[str, ExpertCall],
    adapters: dict[str, AdapterRef],
    tags: dict[str, str],
) -> tuple[list[ScoreRequest], dict[str, tuple[int, int | None]]]:
    """Every expert's scoring request (and its content-free baseline), with their positions."""
    ids = sorted(scenario.alternative_ids)
    conts = [" " + i for i in ids]
    reqs: list[ScoreRequest] = []
    where: dict[str, tuple[int, int | None]] = {}
    calibrate = config.agents.belief_calibration == "content_free"
    for p in scorable:
        s = state[p.id]
        t = {**tags, "expert": p.id}
        reqs.append(
            ScoreRequest(
                messages=_messages(p, scenario, s),
                prefix=scoring_prefix(s.answer_text),
                continuations=conts,
                adapter=adapters.get(p.id),
                tags={**t, "kind": "assessment"},
            )
        )
        base = None
        if calibrate:
            base = len(reqs)
            reqs.append(
                ScoreRequest(
                    messages=content_free_messages(p, scenario),
                    prefix=scoring_prefix(content_free_answer()),
                    continuations=conts,
                    adapter=adapters.get(p.id),
                    tags={**t, "kind": "calibration"},
                )
            )
        where[p.id] = (len(reqs) - (2 if calibrate else 1), base)
    return reqs, where


def choose_actions(
    pool: ModelPool,
    scenario: Scenario,
    scorable: list[ExpertProfile],
    state: dict[str, ExpertCall],
    adapters: dict[str, AdapterRef],
    tags: dict[str, str],
) -> dict[str, list[CatalogueChoice]]:
    """One batched guided-choice call: each expert picks a catalogue action after its answer."""
    from crisis_mas.experts.doctrine.facts import extract_facts

    isolation = extract_facts(scenario).hazmat.get("isolation_m")
    reqs, who, opts = [], [], {}
    for p in scorable:
        options = options_for(scenario, p.id, isolation)
        if not options:
            continue
        opts[p.id] = options
        prefix = state[p.id].answer_text + CATALOGUE_PREFIX
        longest = max(len(o) for o in options)
        reqs.append(
            GenerationRequest(
                messages=_messages(p, scenario, state[p.id]),
                adapter=adapters.get(p.id),
                sampling=SamplingConfig(
                    max_tokens=min(256, longest + 8),
                    temperature=0.0,
                    repetition_penalty=1.0,
                    choices=options,
                ),
                assistant_prefix=prefix,
                tags={**tags, **state[p.id].part_tags(), "expert": p.id, "kind": "catalogue"},
            )
        )
        who.append(p.id)
    if not reqs:
        return {}
    try:
        results = pool.generate(reqs)
    except ModelPoolError:
        return {}
    out: dict[str, list[CatalogueChoice]] = {}
    for eid, req, res in zip(who, reqs, results, strict=True):
        if res.blocked:
            continue
        text = (
            res.text[len(req.assistant_prefix) :]
            if res.text.startswith(req.assistant_prefix)
            else res.text
        )
        choice = parse_choice(text, opts[eid])
        if choice is not None:
            out[eid] = [choice]
    return out


def _beliefs(
    config: AppConfig, ids: list[str], main: ScoreResult, base: ScoreResult | None
) -> dict[str, float]:
    t = config.agents.belief_temperature
    if base is None:
        return beliefs_from_logprobs(ids, main.logprobs, main.token_counts, t)
    return calibrated_beliefs(ids, main.logprobs, main.token_counts, base.logprobs, t)


def score_answers(
    config: AppConfig,
    pool: ModelPool,
    scenario: Scenario,
    profiles: list[ExpertProfile],
    state: dict[str, ExpertCall],
    passages: dict[str, list[dict]],
    run_id: str,
    adapters: dict[str, AdapterRef],
    baselines: BaselineMemo | None = None,
) -> list[Assessment]:
    """One batched scoring call for every answer in format (plus one batched catalogue choice);
    an Assessment per expert. Calibration baselines already in `baselines` are not re-scored."""
    ids = sorted(scenario.alternative_ids)
    scorable = [p for p in profiles if state[p.id].parsed is not None]
    tags = {"run_id": run_id, "prompt_version": str(prompt_version()), **hazard_tags(scenario)}
    reqs, where = score_requests(config, scenario, scorable, state, adapters, tags)
    results: list[ScoreResult] = []
    score_error = None
    if reqs:
        try:
            memoisable = {b for _, b in where.values() if b is not None}
            if baselines is not None:
                results = baselines.score(pool, reqs, memoisable)
            else:
                results = pool.score(reqs)
        except ModelPoolError as err:
            score_error = str(err)
    chosen = (
        choose_actions(pool, scenario, scorable, state, adapters, tags)
        if config.agents.catalogue_choice and scorable and score_error is None
        else {}
    )

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
            catalogue_actions=chosen.get(p.id, []),
        )
        if s.error is not None and s.parsed is None:
            out.append(Assessment(status="failed", error=s.error, **common))
            continue
        parsed = s.parsed
        if parsed is not None and results and p.id in where:
            i_main, i_base = where[p.id]
            main = results[i_main]
            base = results[i_base] if i_base is not None else None
            beliefs = _beliefs(config, ids, main, base)
            extra = base.prompt_tokens if base is not None else 0
            common["latency_ms"] = round(s.latency_ms + main.latency_ms, 1)
            common["tokens"] = TokenUsage(
                prompt=s.prompt_tokens + main.prompt_tokens + extra,
                completion=s.completion_tokens,
            )
            out.append(
                Assessment(
                    status="ok",
                    beliefs=beliefs,
                    confidence=round(confidence_of(beliefs), 4),
                    recommended=top_choice(beliefs),
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
                recommended=top_choice(beliefs),
                rationale=parsed.rationale if parsed else "",
                key_concerns=parsed.key_concerns if parsed else [],
                immediate_actions=parsed.immediate_actions if parsed else [],
                **common,
            )
        )
    return out
