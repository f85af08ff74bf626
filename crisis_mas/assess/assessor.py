"""`Assessor.run`: screen the input, select experts, retrieve, generate in one batch, score,
ground, decide, report.

The scenario's size and the input guard are checked first, before any retrieval or embedding.
Every expert's request is submitted in one batch, so the engine runs them together, each with its
own LoRA adapter. The report says honestly what the run is worth (`assess.outcome`): failed when
no expert answered, degraded when every expert fell back, and only grounded items in the
commander's summary. Progress goes to an optional event sink (`assess.events`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import crisis_mas.assess.outcome as outcome
from crisis_mas.assess.baselines import BaselineMemo
from crisis_mas.assess.events import EventSink, ProgressEvent, emit
from crisis_mas.assess.generation import GROUNDING_FLAG, HAZMAT_FLAG, AnswerBatch, ExpertCall
from crisis_mas.assess.inputs import check_size, guard_block
from crisis_mas.assess.retrieval import retrieve_passages
from crisis_mas.assess.routing import AdapterRouter
from crisis_mas.assess.scoring import score_answers
from crisis_mas.config import AppConfig
from crisis_mas.coordinator.decision import decide
from crisis_mas.experts.assessment import Assessment
from crisis_mas.experts.profiles import ExpertProfile, load_profiles
from crisis_mas.experts.selection import Selection, select_experts
from crisis_mas.middleware.chain import build_chain
from crisis_mas.pool.base import ModelPool
from crisis_mas.pool.factory import build_pool, expert_adapters
from crisis_mas.pool.types import AdapterRef
from crisis_mas.report.model import ModelRef, Report
from crisis_mas.scenario import Scenario


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_run_id() -> str:
    """Sortable, unique: `YYYYmmdd-HHMMSS-<6 hex>`."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


class Assessor:
    """Owns the (chained) model pool and runs scenarios through the experts and the coordinator."""

    def __init__(
        self,
        config: AppConfig,
        pool: ModelPool | None = None,
        experts: list[str] | None = None,
        on_event: EventSink | None = None,
        router: AdapterRouter | None = None,
    ):
        self.config = config
        self.on_event = on_event
        self.router = router
        self.profiles = load_profiles()
        roster = experts or list(self.profiles)
        self.adapters: dict[str, AdapterRef] = expert_adapters(config.model, roster, config.store)
        if pool is None:
            # Active rollout candidates are loaded beside the incumbents, so canary and shadow
            # runs can use them (an engine only serves adapters it was given).
            extra = router.extra_adapters(roster) if router and _loads_candidates(config) else []
            pool = build_pool(config.model, [*self.adapters.values(), *extra])
        self.pool = build_chain(pool, config.ops, config.model.base)
        _register_roster(self.profiles.values())
        self._retriever: Any = None
        self._tracer: Any = None
        # Content-free calibration scores hold no scenario fact: scored once per process.
        self.baselines = BaselineMemo()

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

    def kb_version(self) -> str:
        r = self.retriever()
        return str(getattr(r, "version", "none")) if r is not None else "none"

    def learned_reliability(
        self, scenario: Scenario, profiles: list[ExpertProfile]
    ) -> dict[str, float] | None:
        """Per-expert reliability learned from operator outcomes only (the priors without any)."""
        if not self.config.feedback.use_learned:
            return None
        from crisis_mas.experts.reliability import learned_reliability

        return learned_reliability(
            scenario.type, [p.id for p in profiles], self.config.store, self.config.feedback
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

        def event(stage: Any, expert: str | None = None, **detail: Any) -> None:
            emit(
                self.on_event,
                ProgressEvent(run_id=run_id, stage=stage, expert=expert, detail=detail),
            )

        check_size(self.config, scenario)  # over the input limit: refused before any work
        selection = select_experts(scenario, experts or self.config.agents.experts)
        profiles = [self.profiles[s.expert_id] for s in selection]
        event("selected", experts=[p.id for p in profiles])
        run = _Run(scenario, selection, run_id, t_start, timings, event)
        blocked = guard_block(self.config, scenario)
        if blocked is not None:  # before retrieval: nothing is embedded for a refused scenario
            failed = [_failed(p, self.adapters.get(p.id), blocked) for p in profiles]
            return self._report(run, failed, {}, [])
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
        event("retrieving")
        passages = retrieve_passages(self.retriever(), scenario, profiles, trace)
        for p in profiles:
            event("retrieved", p.id, passages=len(passages[p.id]))
        timings["retrieval_ms"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        event("generating", backend=self.config.model.backend)
        batch = AnswerBatch(
            self.config, self.pool, scenario, passages, run_id, adapters, self.kb_version()
        )
        answers = batch.answer(profiles)
        for eid, call in answers.items():
            event(
                "generated",
                eid,
                prompt_tokens=call.prompt_tokens,
                completion_tokens=call.completion_tokens,
                attempts=call.attempts,
                flags=[f.get("type") for f in call.flags],
                error=call.error,
            )
        timings["generate_ms"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        event("scoring")
        assessments = score_answers(
            self.config,
            self.pool,
            scenario,
            profiles,
            answers,
            passages,
            run_id,
            adapters,
            self.baselines,
        )
        for a in assessments:
            event(
                "done",
                a.expert_id,
                status=a.status,
                recommended=a.recommended,
                confidence=a.confidence,
                flags=[f.get("type") for f in a.flags],
            )
        timings["score_ms"] = (time.perf_counter() - t) * 1000

        report = self._report(run, assessments, answers, warnings, profiles)
        for a in report.assessments:
            spans[a.expert_id].end(a.model_dump(include={"status", "recommended", "confidence"}))
            g = report.grounding.get(a.expert_id)
            if g is not None and g.rate is not None:
                trace.score(
                    "grounded_claim_rate",
                    g.rate,
                    comment=f"{g.grounded}/{g.claims} claims grounded"
                    + (f"; ungrounded: {', '.join(g.ungrounded[:10])}" if g.ungrounded else ""),
                    expert_id=a.expert_id,
                )
        d = report.decision
        trace.end({"recommended": d.recommended, "consensus": d.consensus, "status": report.status})
        if self.router and report.status != "failed":
            self.router.record(plan, report)  # canary samples + automatic rollback
        if report.status == "ok":
            event("decision", recommended=d.recommended, consensus=d.consensus)
        return report

    def _report(
        self,
        run: _Run,
        assessments: list[Assessment],
        answers: dict[str, ExpertCall],
        warnings: list[str],
        profiles: list[ExpertProfile] | None = None,
    ) -> Report:
        """Decide (unless no expert answered) and assemble the report with its honest status."""
        event = run.event
        assessments, sources = outcome.cite_once(assessments)
        grounding, summary = outcome.ground(assessments, answers)
        for eid, g in grounding.items():
            call = answers[eid]
            event(
                "checked",
                eid,
                claims=g.claims,
                grounded=g.grounded,
                ungrounded=g.ungrounded,
                withheld_items=g.withheld_items,
                grounding_requeried=g.requeried,
                hazmat_contradictions=sum(f.get("type") == HAZMAT_FLAG for f in call.flags),
                hazmat_requeried=call.requeried,
                flags=[f.get("type") for f in call.flags if f.get("type") != GROUNDING_FLAG],
            )
        status, reason = outcome.run_status(assessments)
        t = time.perf_counter()
        if status == "failed":
            decision = outcome.failed_decision(self.config.aggregation.method, reason or "")
        else:
            event("deciding")
            relevance = {s.expert_id: s.relevance for s in run.selection}
            decision = decide(
                run.scenario,
                assessments,
                self.profiles,
                relevance,
                self.config.aggregation,
                self.learned_reliability(run.scenario, profiles or []),
            )
            if status == "degraded":
                decision = outcome.degraded_decision(decision)
        run.timings["aggregate_ms"] = (time.perf_counter() - t) * 1000
        run.timings["total_ms"] = (time.perf_counter() - run.t_start) * 1000
        base = self.config.model.base
        info = None if status == "failed" and not answers else self.pool.info()
        report = Report(
            scenario_id=run.scenario.id,
            scenario_name=run.scenario.name,
            scenario_type=run.scenario.type,
            run_id=run.run_id,
            created_at=_now(),
            model=ModelRef(
                base=info.base if info else base,
                backend=info.backend if info else self.config.model.backend,
            ),
            experts=run.selection,
            assessments=assessments,
            decision=decision,
            warnings=warnings,
            timings={k: round(v, 1) for k, v in run.timings.items()},
            status=status,
            status_reason=reason,
            notice=outcome.demo_notice(base),
            summary=summary,
            grounding=grounding,
            sources=sources,
        )
        if status != "ok":
            event(status, reason=reason)
        return report

    def close(self) -> None:
        self.pool.close()


def _loads_candidates(config: AppConfig) -> bool:
    """Backends that load adapters from local paths (an OpenAI server names its own models)."""
    return config.model.use_adapters and config.model.backend in ("vllm", "transformers")


@dataclass
class _Run:
    """What one run's steps share."""

    scenario: Scenario
    selection: list[Selection]
    run_id: str
    t_start: float
    timings: dict[str, float]
    event: Callable[..., None]


def _failed(profile: ExpertProfile, adapter: AdapterRef | None, error: str) -> Assessment:
    return Assessment(
        expert_id=profile.id,
        expert_name=f"{profile.persona_name}, {profile.title}",
        adapter=adapter.name if adapter else None,
        status="failed",
        error=error,
    )


def _register_roster(profiles: Iterable[ExpertProfile]) -> None:
    """Every roster entry is citable by every expert (the grounding link's static reference)."""
    from crisis_mas.middleware.grounding import add_static_reference

    add_static_reference(
        "roster",
        [p.model_dump_json() for p in profiles],
    )
