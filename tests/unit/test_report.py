"""The commander's report: plain-language first page (recommended action by name, two-sentence
why, confidence in words, actions grouped by owning service, risks, dissent, what could not be
verified, sources once), arithmetic in the appendix, Markdown + self-contained HTML, Greek."""

from __future__ import annotations

import re

import pytest

from crisis_mas.coordinator.config import AggregationConfig
from crisis_mas.coordinator.decision import decide
from crisis_mas.experts.assessment import Assessment, Citation, doctrine_prior
from crisis_mas.experts.profiles import load_profiles
from crisis_mas.report.brief import build_brief, flag_kind
from crisis_mas.report.html import to_html
from crisis_mas.report.markdown import to_markdown
from crisis_mas.report.model import ModelRef, Report
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

CITE = [
    Citation(doc_id="erg-2024", chunk_id="erg-2024#3", title="ERG 2024: evacuation distances"),
    Citation(doc_id="gscp-plan", chunk_id="gscp-plan#1", title="GSCP evacuation plan"),
]


def _report(base: str = "meta-llama/Llama-3.1-8B-Instruct") -> Report:
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


def _sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?”»])\s+", text.strip()) if s])


def test_first_page_in_plain_language() -> None:
    r = _report()
    md = to_markdown(r)
    page, _, appendix = md.partition("\n---\n")
    top = r.decision.ranking[0]
    assert f"**{top.name}**" in page  # the recommended action by its name
    why = re.search(r"\*\*Why\.\*\* (.+)", page).group(1)
    assert _sentences(why) == 2, why
    assert "Fire Commander: “The head of the fire runs to Limni.”" in why
    assert re.search(r"\*\*Confidence\.\*\* (High|Moderate|Low):", page)
    # actions grouped by the owning service, each with who proposed it
    assert (
        "### Hellenic Fire Service\n\n- Open the coastal corridor — *proposed by Fire Commander*"
        in page
    )
    assert "### Hellenic Police\n\n- Close the road north of Rovies" in page
    # the same risk from two experts is one line naming both
    assert "- Roads closing — *raised by Fire Commander, Police Incident Commander*" in page
    assert "Police Incident Commander prefers" in page  # dissent
    unverified = page.split("## What the system could not verify")[1].split("## Sources")[0]
    assert "Emergency Physician and Medical Incident Commander: no usable answer" in unverified
    assert "failed (model pool unavailable: replica died)" in unverified
    assert "HAZMAT reference check: states IDLH 50 ppm" in unverified
    assert "safety guard: a phone number" in unverified
    assert "no adapter for coast_guard" in unverified
    # each source once, even though two experts cited it
    assert page.count("ERG 2024: evacuation distances") == 1
    assert "read by Fire Commander, Police Incident Commander" in page
    # no arithmetic on the first page
    for word in ("TOPSIS", "Yager", "yager", "conflict mass", "belief"):
        assert word not in page, word
    assert "TOPSIS" in appendix and "yager rule" in appendix and "conflict mass" in appendix


def test_no_empty_sections_for_experts_without_an_answer() -> None:
    md = to_markdown(_report())
    appendix = md.partition("\n---\n")[2]
    assert "(`fire`)" in appendix and "(`police`)" in appendix
    assert "(`medical`)" not in appendix and "(`coast_guard`)" not in appendix
    assert "Not shown (no usable answer): Emergency Physician" in appendix
    assert "**Immediate actions.**\n\n" not in md and "**Rationale.** \n" not in md


def test_demo_model_notice_and_no_notice_for_production() -> None:
    assert "demonstration model" in to_markdown(_report(base="embedded:smollm2-135m-instruct"))
    assert "demonstration model" not in to_markdown(_report())


def test_greek_fixed_text() -> None:
    md = to_markdown(_report(), "el")
    for text in (
        "## Προτεινόμενη ενέργεια",
        "**Αιτιολόγηση.**",
        "## Ενέργειες ανά υπηρεσία",
        "### Πυροσβεστικό Σώμα Ελλάδας",
        "## Τι δεν μπόρεσε να επαληθεύσει το σύστημα",
        "# Παράρτημα",
    ):
        assert text in md, text
    assert "Recommended action" not in md and "Why." not in md
    assert ";" not in md.partition("\n---\n")[0].split("**Βεβαιότητα.**")[1].split("\n")[0]
    assert "Open the coastal corridor" in md  # the experts' own words are kept


def test_html_is_self_contained_with_charts() -> None:
    r = _report()
    page = to_html(r)
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert not re.search(r"""(src|href)=['"]?https?:""", page)  # nothing fetched
    assert page.count("<svg") == 2 and "chart-ranking" in page and "chart-beliefs" in page
    for a in r.decision.ranking:
        assert a.name.replace("'", "&#x27;") in page
    assert page.index("id='recommendation'") < page.index("id='appendix'")
    assert "<html lang='el'>" in to_html(r, "el")


def test_unknown_language_is_an_input_error() -> None:
    from crisis_mas.errors import InputError

    with pytest.raises(InputError, match="--lang"):
        to_markdown(_report(), "fr")


@pytest.mark.parametrize(
    ("flag", "kind"),
    [
        ({"type": "hazmat_contradiction"}, "hazmat"),
        ({"type": "ungrounded_claim"}, "grounding"),
        ({"type": "uncited_number"}, "grounding"),
        ({"type": "prompt_injection"}, "guard"),
    ],
)
def test_flag_kinds(flag: dict, kind: str) -> None:
    assert flag_kind(flag) == kind


def test_brief_confidence_levels() -> None:
    b = build_brief(_report())
    assert b.confidence_level in ("high", "moderate", "low")
    assert "1 of" not in b.confidence or b.confidence_level != "high"
