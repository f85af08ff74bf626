"""The code around the model: retries, marked fallbacks, failed experts, HAZMAT re-query.

A scripted fake pool stands in for the engine here (a unit test of the pipeline's own logic);
tests/e2e/test_e2e_run.py proves the same path on the real model and adapters.
"""

from __future__ import annotations

from crisis_mas.assess import Assessor
from crisis_mas.config import AppConfig
from crisis_mas.experts.prompting import format_assessment
from crisis_mas.pool.base import ModelPool, ModelPoolError
from crisis_mas.pool.types import GenerationResult, ModelInfo, ScoreResult
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

SCEN = load_scenario(bundled_scenarios_dir() / "elefsina_ammonia.json")
GOOD = format_assessment(
    "Plume drifts south-east over homes; ammonia IDLH is 300 ppm so the 500 m zone is lethal.",
    ["plume over schools", "ignition risk"],
    ["evacuate downwind 2 km", "water curtain at the tank"],
    "x",
).split("Recommended:")[0]


class ScriptedPool(ModelPool):
    """Answers by expert: a list of texts per attempt, or an exception to raise."""

    def __init__(self, script: dict[str, list[str]], flags: dict[str, list[dict]] | None = None):
        self.script = script
        self.flags = flags or {}
        self.calls: list[list[str]] = []
        self.seen_messages: dict[str, list[str]] = {}
        self.prefixes_by_expert: dict[str, list[str]] = {}

    def generate(self, requests):  # noqa: ANN001, ANN201
        if requests and all(r.tags.get("kind") == "catalogue" for r in requests):
            # The catalogue step (guided choice): answer with each request's first option.
            return [
                GenerationResult(
                    request_id=r.request_id, text=r.assistant_prefix + r.sampling.choices[0]
                )
                for r in requests
            ]
        self.calls.append([r.tags["expert"] for r in requests])
        out = []
        for r in requests:
            e = r.tags["expert"]
            self.seen_messages.setdefault(e, []).append(r.messages[-1].content)
            self.prefixes_by_expert.setdefault(e, []).append(r.assistant_prefix)
            texts = self.script[e]
            if texts == ["RAISE"]:
                raise ModelPoolError("engine died")
            text = texts.pop(0) if len(texts) > 1 else texts[0]
            flags = self.flags.get(e, []) if len(self.seen_messages[e]) == 1 else []
            out.append(
                GenerationResult(
                    request_id=r.request_id,
                    text=text,
                    prompt_tokens=10,
                    completion_tokens=5,
                    flags=flags,
                )
            )
        return out

    def score(self, requests):  # noqa: ANN001, ANN201
        # The answer's scores fall with each continuation; the content-free baseline is flat.
        return [
            ScoreResult(
                request_id=r.request_id,
                logprobs=[
                    -1.0 if r.tags.get("kind") == "calibration" else -float(i + 1)
                    for i in range(len(r.continuations))
                ],
                token_counts=[1] * len(r.continuations),
            )
            for r in requests
        ]

    def info(self) -> ModelInfo:
        return ModelInfo(base="fake", backend="scripted")


def _assessor(pool: ModelPool) -> Assessor:
    cfg = AppConfig.model_validate(
        {"model": {"use_adapters": False}, "ops": {"chain": []}, "rag": {"enabled": False}}
    )
    return Assessor(cfg, pool=pool)


def test_invalid_output_is_retried_then_marked_fallback() -> None:
    pool = ScriptedPool({"fire": ["1. 1. 1. 1.", GOOD], "police": ["garbage"], "medical": [GOOD]})
    r = _assessor(pool).run(SCEN, ["fire", "police", "medical"])
    by = {a.expert_id: a for a in r.assessments}
    assert pool.calls == [
        ["fire", "police", "medical"],
        ["fire", "police"],
        ["police"],
    ]  # one batch, then a retry of both, then a second retry of the one still out of format
    assert by["fire"].status == "ok" and by["fire"].attempts == 2
    assert by["police"].status == "fallback" and by["police"].attempts == 3
    assert "did not follow the assessment format" in by["police"].fallback_reason
    assert "doctrine prior" in by["police"].fallback_reason
    assert by["medical"].status == "ok" and by["medical"].attempts == 1
    # Continuations come in the canonical (sorted) order: the first has the highest log-prob.
    assert by["medical"].recommended == sorted(SCEN.alternative_ids)[0]
    assert set(by["medical"].beliefs) == set(SCEN.alternative_ids)


def test_a_second_retry_continues_what_the_first_one_wrote() -> None:
    """The first retry wrote concerns but no actions header; the second starts at that header
    with the concerns it wrote, so the model only has to list actions."""
    first = "Rationale: The ammonia cloud drifts south over the homes.\nkey points:\n- wind"
    second = (
        "Rationale: The ammonia cloud drifts south over the homes.\nKey concerns:\n"
        "- plume over the school\nImmediately taking care:\n- water curtain"
    )
    pool = ScriptedPool({"police": [first, second, GOOD]})
    r = _assessor(pool).run(SCEN, ["police"])
    assert r.assessments[0].status == "ok" and r.assessments[0].attempts == 3
    p0, p1, p2 = pool.prefixes_by_expert["police"]
    assert p1.endswith("Key concerns:\n- ")
    assert p2.endswith("Key concerns:\n- plume over the school\nImmediate actions:\n- ")


def test_engine_failure_marks_experts_failed_and_reports_them() -> None:
    pool = ScriptedPool({"fire": ["RAISE"], "police": ["RAISE"]})
    r = _assessor(pool).run(SCEN, ["fire", "police"])
    assert [a.status for a in r.assessments] == ["failed", "failed"]
    assert "engine died" in r.assessments[0].error
    # No expert answered: the run fails, with the reason, and recommends nothing.
    assert r.status == "failed" and r.status_reason == "engine died"
    assert r.decision.recommended is None and r.decision.ranking == []
    assert "No recommendation" in r.decision.explanation


def test_hazmat_contradiction_triggers_one_requery_with_correction() -> None:
    flag = {
        "type": "hazmat_contradiction",
        "substance": "ammonia",
        "un_number": "UN1005",
        "property": "idlh",
        "stated": "10 ppm",
        "reference": "300 ppm",
        "verdict": "contradicts",
        "source": "NIOSH Pocket Guide",
        "score": 1.0,
        "reason": "IDLH 10 ppm vs 300 ppm",
    }
    pool = ScriptedPool({"fire": [GOOD], "medical": [GOOD]}, flags={"medical": [flag]})
    r = _assessor(pool).run(SCEN, ["fire", "medical"])
    by = {a.expert_id: a for a in r.assessments}
    assert pool.calls[-1] == ["medical"]
    assert by["medical"].hazmat_requeried and not by["medical"].hazmat_contradicts
    assert "CORRECTION" in pool.seen_messages["medical"][-1]
    assert not by["fire"].hazmat_requeried
