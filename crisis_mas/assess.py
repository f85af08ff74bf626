"""The one code path: scenario -> experts -> model pool (through the middleware chain) ->
coordinator -> report. The CLI, the Serve app and the benchmarks all call `Assessor.run`.

Every expert's request is submitted in one batch, so the vLLM engine runs them together, each
with its own LoRA adapter. Beliefs come from a second batched call that scores each alternative
id's likelihood after the expert's own answer, so they are valid ids by construction.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from crisis_mas.config import AppConfig
from crisis_mas.coordinator.decision import decide
from crisis_mas.experts.assessment import (
    Assessment,
    Citation,
    ParsedAnswer,
    TokenUsage,
    beliefs_from_logprobs,
    confidence_of,
    doctrine_prior,
    parse_answer,
)
from crisis_mas.experts.profiles import ExpertProfile, load_profiles
from crisis_mas.experts.prompting import (
    assessment_messages,
    prompt_version,
    scoring_messages,
    templates,
)
from crisis_mas.experts.selection import select_experts
from crisis_mas.middleware.chain import build_chain
from crisis_mas.pool.base import ModelPool, ModelPoolError
from crisis_mas.pool.factory import build_pool, expert_adapters
from crisis_mas.pool.types import (
    AdapterRef,
    ChatMessage,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    SamplingConfig,
    ScoreRequest,
)
from crisis_mas.report.model import ModelRef, Report
from crisis_mas.scenario import Scenario

StageCallback = Callable[[str], None]
HAZMAT_FLAG = "hazmat_contradiction"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


class RoutedRun(Protocol):
    """A router's decision for one run: adapter overrides by expert id."""

    adapters: dict[str, AdapterRef]


class AdapterRouter(Protocol):
    """Chooses adapters per run (rollout canary and promotions) and learns from the report.

    Injected by the caller (`crisis_mas.runtime` wires the rollout registry), so this module
    never imports the rollout layer that builds on it.
    """

    def extra_adapters(self, experts: list[str]) -> list[AdapterRef]:
        """Adapters to load beside the incumbents (active candidates)."""
        ...

    def plan(
        self,
        run_id: str,
        experts: list[str],
        pool_info: Callable[[], ModelInfo],
        configured: dict[str, AdapterRef],
    ) -> RoutedRun | None:
        """Overrides for this run, or None when every expert serves its configured adapter."""
        ...

    def record(self, plan: RoutedRun | None, report: Report) -> None:
        """Record the finished run (canary samples, automatic rollback); never raises."""
        ...


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


def _hazard_tags(s: Scenario) -> dict[str, str]:
    tags = {"scenario_type": s.type, "hazards": ",".join(sorted({s.type, *s.tags}))}
    hz = s.expert_selection.hazmat_specific
    if hz is not None and hz.un_number:
        tags["un_number"] = hz.un_number
    return tags


class Assessor:
    """Owns the (chained) model pool and runs scenarios through the experts and the coordinator."""

    def __init__(
        self,
        config: AppConfig,
        pool: ModelPool | None = None,
        experts: list[str] | None = None,
        on_stage: StageCallback | None = None,
        router: AdapterRouter | None = None,
    ):
        self.config = config
        self.on_stage = on_stage or (lambda _stage: None)
        self.router = router
        self.profiles = load_profiles()
        roster = experts or list(self.profiles)
        self.adapters: dict[str, AdapterRef] = expert_adapters(config.model, roster)
        if pool is None:
            # Active rollout candidates are loaded beside the incumbents, so canary and shadow
            # runs can use them (an engine only serves adapters it was given).
            extra = router.extra_adapters(roster) if router and _loads_candidates(config) else []
            pool = build_pool(config.model, [*self.adapters.values(), *extra])
        self.pool = build_chain(pool, config.ops, config.model.base)
        self._retriever: Any = None
        self._tracer: Any = None

    # -- optional collaborators (RAG, tracing, scenario fact checks) ----------------------------
    def retriever(self) -> Any:
        if self._retriever is None and self.config.rag.enabled:
            from crisis_mas.rag import Retriever

            self._retriever = Retriever.open(self.config.rag)
        return self._retriever

    def tracer(self) -> Any:
        if self._tracer is None:
            from crisis_mas.middleware.tracing import get_tracer

            self._tracer = get_tracer(self.config.ops, self.config.model.base)
        return self._tracer

    def learned_reliability(
        self, scenario: Scenario, profiles: list[ExpertProfile]
    ) -> dict[str, float] | None:
        """Per-expert reliability learned from operator outcomes only (the priors without any)."""
        if not self.config.feedback.use_learned:
            return None
        from crisis_mas.experts.reliability import learned_reliability

        return learned_reliability(
            scenario.type, [p.id for p in profiles], self.config.store.path, self.config.feedback
        )

    @staticmethod
    def scenario_warnings(scenario: Scenario) -> list[str]:
        hz = scenario.expert_selection.hazmat_specific
        if hz is None:
            return []
        from crisis_mas.safety.hazmat import check_scenario_facts

        return [
            f"scenario states {f.property} of {f.substance} as {f.stated}, reference is "
            f"{f.reference} ({f.source})"
            for f in check_scenario_facts(hz.model_dump(exclude_none=True))
            if f.verdict == "contradicts"
        ]

    # -- the run --------------------------------------------------------------------------------
    def run(
        self, scenario: Scenario, experts: list[str] | None = None, run_id: str | None = None
    ) -> Report:
        t_start = time.perf_counter()
        timings: dict[str, float] = {}
        run_id = run_id or new_run_id()
        selection = select_experts(scenario, experts or self.config.agents.experts)
        profiles = [self.profiles[s.expert_id] for s in selection]
        # Canary: experts routed to a candidate adapter on this run (sticky by run id).
        plan = (
            self.router.plan(run_id, [p.id for p in profiles], self.pool.info, self.adapters)
            if self.router
            else None
        )
        adapters = {**self.adapters, **plan.adapters} if plan else self.adapters
        warnings = self.scenario_warnings(scenario)
        missing = [
            p.id for p in profiles if p.id not in self.adapters and self.config.model.use_adapters
        ]
        if missing:
            warnings.append(f"no adapter for {', '.join(missing)}: using the base model for them")

        trace = self.tracer().start_run(
            run_id, scenario.id, scenario.type, [p.id for p in profiles]
        )
        spans = {p.id: trace.expert(p.id) for p in profiles}

        t = time.perf_counter()
        passages = self._retrieve(scenario, profiles, trace)
        timings["retrieval_ms"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        self.on_stage("generating")
        answers = self._generate(scenario, profiles, passages, run_id, adapters)
        timings["generate_ms"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        self.on_stage("scoring")
        assessments = self._score(scenario, profiles, answers, passages, run_id, adapters)
        timings["score_ms"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        relevance = {s.expert_id: s.relevance for s in selection}
        decision = decide(
            scenario,
            assessments,
            self.profiles,
            relevance,
            self.config.aggregation,
            self.learned_reliability(scenario, profiles),
        )
        timings["aggregate_ms"] = (time.perf_counter() - t) * 1000
        timings["total_ms"] = (time.perf_counter() - t_start) * 1000

        info = self.pool.info()
        report = Report(
            scenario_id=scenario.id,
            scenario_name=scenario.name,
            scenario_type=scenario.type,
            run_id=run_id,
            created_at=_now(),
            model=ModelRef(base=info.base, backend=info.backend),
            experts=selection,
            assessments=assessments,
            decision=decision,
            warnings=warnings,
            timings={k: round(v, 1) for k, v in timings.items()},
        )
        for a in assessments:
            spans[a.expert_id].end(a.model_dump(include={"status", "recommended", "confidence"}))
        trace.end({"recommended": decision.recommended, "consensus": decision.consensus})
        if self.router:
            self.router.record(plan, report)  # canary samples + automatic rollback
        return report

    # -- steps ----------------------------------------------------------------------------------
    def _retrieve(
        self, scenario: Scenario, profiles: list[ExpertProfile], trace: Any
    ) -> dict[str, list[dict]]:
        retriever = self.retriever()
        if retriever is None:
            return {p.id: [] for p in profiles}
        self.on_stage("retrieving")
        query = f"{scenario.type}: {scenario.name}. {scenario.description}"
        out = {}
        for p in profiles:
            t = time.perf_counter()
            hits = retriever.search_for_expert(query, p.domains, focus=p.role)
            ms = (time.perf_counter() - t) * 1000
            out[p.id] = [h.model_dump() for h in hits]
            trace.retrieval(p.id, query, out[p.id], ms)
        return out

    def _requests(
        self,
        scenario: Scenario,
        profiles: list[ExpertProfile],
        passages: dict[str, list[dict]],
        run_id: str,
        attempt: int,
        adapters: dict[str, AdapterRef],
        corrections: dict[str, str] | None = None,
    ) -> list[GenerationRequest]:
        base = self.config.model.sampling
        stop = [templates()["recommend_prefix"].strip()]
        sampling = base.model_copy(update={"stop": stop})
        if attempt > 0:  # a retry samples, so it does not repeat the same invalid answer
            sampling = sampling.model_copy(update={"temperature": 0.7, "seed": attempt})
        tags = {
            "run_id": run_id,
            "kind": "assessment",
            "prompt_version": str(prompt_version()),
            "kb_version": self.kb_version(),
            **_hazard_tags(scenario),
        }
        return [
            GenerationRequest(
                messages=assessment_messages(
                    p, scenario, passages.get(p.id), (corrections or {}).get(p.id)
                ),
                adapter=adapters.get(p.id),
                sampling=SamplingConfig.model_validate(sampling.model_dump()),
                assistant_prefix=templates()["answer_prefix"],
                tags={**tags, "expert": p.id, "attempt": str(attempt)},
            )
            for p in profiles
        ]

    def kb_version(self) -> str:
        r = self.retriever()
        return str(getattr(r, "version", "none")) if r is not None else "none"

    def _generate(
        self,
        scenario: Scenario,
        profiles: list[ExpertProfile],
        passages: dict[str, list[dict]],
        run_id: str,
        adapters: dict[str, AdapterRef],
    ) -> dict[str, ExpertCall]:
        """All experts' answers in one batch; retry invalid ones; re-query HAZMAT errors once."""
        state = {p.id: ExpertCall() for p in profiles}
        todo = list(profiles)
        for attempt in range(self.config.agents.max_retries + 1):
            if not todo:
                break
            self._call(scenario, todo, passages, run_id, attempt, state, adapters)
            todo = [p for p in todo if state[p.id].parsed is None and state[p.id].error is None]

        # HAZMAT: re-query once, with the correction as feedback, any expert that contradicted.
        corrections = self._corrections(state)
        if corrections:
            again = [p for p in profiles if p.id in corrections]
            for p in again:
                state[p.id].requeried = True
            self._call(scenario, again, passages, run_id, 0, state, adapters, corrections)
        return state

    def _call(
        self,
        scenario: Scenario,
        todo: list[ExpertProfile],
        passages: dict[str, list[dict]],
        run_id: str,
        attempt: int,
        state: dict[str, ExpertCall],
        adapters: dict[str, AdapterRef],
        corrections: dict[str, str] | None = None,
    ) -> None:
        reqs = self._requests(scenario, todo, passages, run_id, attempt, adapters, corrections)
        try:
            results: list[GenerationResult] = self.pool.generate(reqs)
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

    @staticmethod
    def _corrections(state: dict[str, ExpertCall]) -> dict[str, str]:
        out = {}
        for eid, s in state.items():
            found = [f for f in s.flags if f.get("type") == HAZMAT_FLAG]
            if found and not s.requeried:
                from crisis_mas.safety.hazmat import Finding, format_corrections

                out[eid] = format_corrections([Finding.model_validate(f) for f in found])
        return out

    def _score(
        self,
        scenario: Scenario,
        profiles: list[ExpertProfile],
        state: dict[str, ExpertCall],
        passages: dict[str, list[dict]],
        run_id: str,
        adapters: dict[str, AdapterRef],
    ) -> list[Assessment]:
        ids = scenario.alternative_ids
        # "Recommended:" + " <id>": the id keeps its leading space, so it is tokenised the way the
        # adapter saw it in training (" action", "_x", ...), not as a stray space token.
        prefix = templates()["recommend_prefix"].rstrip()
        scorable = [p for p in profiles if state[p.id].parsed is not None]
        reqs = [
            ScoreRequest(
                messages=scoring_messages(p, scenario),
                prefix=_answer_text(state[p.id]) + "\n" + prefix,
                continuations=[" " + i for i in ids],
                adapter=adapters.get(p.id),
                tags={
                    "run_id": run_id,
                    "expert": p.id,
                    "kind": "assessment",
                    "prompt_version": str(prompt_version()),
                    **_hazard_tags(scenario),
                },
            )
            for p in scorable
        ]
        scores = {}
        score_error = None
        if reqs:
            try:
                scores = {p.id: r for p, r in zip(scorable, self.pool.score(reqs), strict=True)}
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
                    ids, sr.logprobs, sr.token_counts, self.config.agents.belief_temperature
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
                else "model output did not follow the assessment format after "
                f"{s.attempts} attempt(s)"
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

    def close(self) -> None:
        self.pool.close()


def _answer_text(call: ExpertCall) -> str:
    return call.result.text.rstrip() if call.result is not None else ""


def _loads_candidates(config: AppConfig) -> bool:
    """Backends that load adapters from local paths (an OpenAI server names its own models)."""
    return config.model.use_adapters and config.model.backend in ("vllm", "transformers")
