"""A report with every case the renderers must handle: two experts who answered (one dissenting,
with a guard flag), a fallback with a HAZMAT flag and no answer, a failed expert, shared
citations and a warning; decided by the real coordinator over a bundled scenario."""

from __future__ import annotations

from crisis_mas.coordinator.config import AggregationConfig
from crisis_mas.coordinator.decision import decide
from crisis_mas.experts.assessment import Assessment, Citation, doctrine_prior
from crisis_mas.experts.profiles import load_profiles
from crisis_mas.report.model import ModelRef, Report
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

CITE = [
    Citation(doc_id="erg-2024", chunk_id="erg-2024#3", title="ERG 2024: evacuation distances"),
    Citation(doc_id="gscp-plan", chunk_id="gscp-plan#1", title="GSCP evacuation plan"),
]


def sample_report(base: str = "meta-llama/Llama-3.1-8B-Instruct") -> Report:
    s = load_scenario(bundled_scenarios_dir() / "evia_wildfire.json")
    p = load_profiles()
    first, second = s.alternative_ids[0], s.alternative_ids[1]

    def peaked(choice: str) -> dict[str, float]:
        rest = (1 - 0.7) / (len(s.alternative_ids) - 1)
        return {i: 0.7 if i == choice else rest for i in s.alternative_ids}

    a = [
        Assessment(
            expert_id="fire",
            expert_name="fire",
            adapter="fire",
            status="ok",
            beliefs=peaked(first),
            confidence=0.5,
            recommended=first,
            rationale="The head of the fire runs to Limni. Roads will close within the hour.",
            key_concerns=["Wind shift to the north", "Roads closing"],
            immediate_actions=["Open the coastal corridor", "Stage tankers at Rovies"],
            citations=CITE,
        ),
        Assessment(
            expert_id="police",
            expert_name="police",
            adapter="police",
            status="ok",
            beliefs=peaked(second),
            confidence=0.5,
            recommended=second,
            rationale="Traffic control on the only road south is feasible. It keeps families "
            "together.",
            key_concerns=["roads closing!", "Panic at the port"],
            immediate_actions=["Close the road north of Rovies"],
            citations=CITE[:1],
            flags=[{"type": "pii", "reason": "a phone number in the answer", "score": 0.9}],
        ),
        Assessment(
            expert_id="medical",
            expert_name="medical",
            adapter="medical",
            status="fallback",
            fallback_reason="model output did not follow the assessment format after 2 "
            "attempt(s); beliefs are this expert's doctrine prior",
            beliefs=doctrine_prior(p["medical"], s),
            recommended=first,
            flags=[
                {
                    "type": "hazmat_contradiction",
                    "reason": "states IDLH 50 ppm, reference 300 ppm",
                }
            ],
        ),
        Assessment(
            expert_id="coast_guard",
            expert_name="coast_guard",
            adapter=None,
            status="failed",
            error="model pool unavailable: replica died",
        ),
    ]
    d = decide(s, a, p, {}, AggregationConfig())
    return Report(
        scenario_id=s.id,
        scenario_name=s.name,
        scenario_type=s.type,
        run_id="20261203-101010-abcdef",
        created_at="2026-12-03T10:10:10.000+00:00",
        model=ModelRef(base=base, backend="vllm"),
        experts=[],
        assessments=a,
        decision=d,
        warnings=["no adapter for coast_guard: using the base model for them"],
    )
