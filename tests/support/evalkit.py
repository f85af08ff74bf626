"""Test helpers for the eval/feedback/drift/rollout tests: reports built directly on known inputs,
and a scripted model pool so the real Assessor runs without an engine."""

from __future__ import annotations

from crisis_mas.config import AppConfig
from crisis_mas.coordinator.config import AggregationConfig
from crisis_mas.coordinator.decision import decide
from crisis_mas.experts.assessment import Assessment, TokenUsage
from crisis_mas.experts.profiles import load_profiles
from crisis_mas.experts.prompting import format_assessment
from crisis_mas.pool.base import ModelPool
from crisis_mas.pool.types import GenerationResult, ModelInfo, ScoreResult
from crisis_mas.report.model import ModelRef, Report
from crisis_mas.scenario import Scenario, bundled_scenarios_dir, load_scenario


def scenario(name: str) -> Scenario:
    return load_scenario(bundled_scenarios_dir() / f"{name}.json")


def make_report(
    s: Scenario,
    recommended: str,
    run_id: str = "r1",
    firsts: dict[str, str] | None = None,
    flags: dict[str, list[dict]] | None = None,
    statuses: dict[str, str] | None = None,
    rationale: str = "Doctrine says act on the plume first.",
    total_ms: float = 1000.0,
    created_at: str = "2026-11-23T10:00:00",
) -> Report:
    """A report whose decision picks `recommended`; experts' first choices from `firsts`."""
    p = load_profiles()
    firsts = firsts or {"fire": recommended, "police": recommended}
    flags = flags or {}
    statuses = statuses or {}
    out = []
    for e, first in firsts.items():
        beliefs = {
            i: (0.6 if i == first else 0.4 / (len(s.alternative_ids) - 1))
            for i in s.alternative_ids
        }
        out.append(
            Assessment(
                expert_id=e,
                expert_name=e,
                adapter=e,
                status=statuses.get(e, "ok"),  # type: ignore[arg-type]
                beliefs=beliefs,
                recommended=first,
                rationale=rationale,
                key_concerns=["c"],
                immediate_actions=["a"],
                tokens=TokenUsage(prompt=100, completion=50),
                latency_ms=total_ms / 2,
                flags=flags.get(e, []),
                hazmat_contradicts=any(
                    f.get("type") == "hazmat_contradiction" for f in flags.get(e, [])
                ),
            )
        )
    d = decide(s, out, p, {}, AggregationConfig()).model_copy(update={"recommended": recommended})
    return Report(
        scenario_id=s.id,
        scenario_name=s.name,
        scenario_type=s.type,
        run_id=run_id,
        created_at=created_at,
        model=ModelRef(base="b", backend="fake"),
        experts=[],
        assessments=out,
        decision=d,
        timings={"total_ms": total_ms},
    )


GOOD = format_assessment(
    "Plume drifts over homes; act on doctrine and protect the public first.",
    ["plume over schools", "ignition risk"],
    ["warn the public", "set up a cordon"],
    "x",
).split("Recommended:")[0]


class FakePool(ModelPool):
    """Answers every expert with a well-formed text; scores prefer the `prefer`-th alternative."""

    def __init__(self, prefer: int = 0, text: str = GOOD):
        self.prefer = prefer
        self.text = text
        self.generated = 0

    def generate(self, requests):  # noqa: ANN001, ANN201
        if requests and all(r.sampling.choices for r in requests):
            # The catalogue step (guided choice): each request's first option.
            return [
                GenerationResult(
                    request_id=r.request_id, text=r.assistant_prefix + r.sampling.choices[0]
                )
                for r in requests
            ]
        self.generated += len(requests)
        return [
            GenerationResult(
                request_id=r.request_id, text=self.text, prompt_tokens=10, completion_tokens=5
            )
            for r in requests
        ]

    def score(self, requests):  # noqa: ANN001, ANN201
        """The `prefer`-th continuation (in the canonical, sorted order) scores highest after an
        answer; the content-free calibration baseline is flat."""
        out = []
        for r in requests:
            n = len(r.continuations)
            k = min(self.prefer, n - 1)
            flat = r.tags.get("kind") == "calibration"
            out.append(
                ScoreResult(
                    request_id=r.request_id,
                    logprobs=[-1.0 if flat else (-0.1 if i == k else -5.0) for i in range(n)],
                    token_counts=[1] * n,
                )
            )
        return out

    def info(self) -> ModelInfo:
        return ModelInfo(base="fake", backend="scripted")


def fake_config(tmp_store: str | None = None) -> AppConfig:
    data: dict = {"model": {"use_adapters": False}, "ops": {"chain": []}, "rag": {"enabled": False}}
    if tmp_store:
        data["store"] = {"path": tmp_store}
    return AppConfig.model_validate(data)
