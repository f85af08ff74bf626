"""The commander's report: plain-language first page (recommended action by name, two-sentence
why, confidence in words, actions grouped by owning service, risks, dissent, what could not be
verified, sources once), arithmetic in the appendix, Markdown + self-contained HTML, Greek."""

from __future__ import annotations

import re

import pytest
from sample_report import sample_report

from crisis_mas.report.brief import build_brief, flag_kind
from crisis_mas.report.html import to_html
from crisis_mas.report.markdown import to_markdown
from crisis_mas.report.model import Report


def _sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?”»])\s+", text.strip()) if s])


def test_first_page_in_plain_language() -> None:
    r = sample_report()
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
    md = to_markdown(sample_report())
    appendix = md.partition("\n---\n")[2]
    assert "(`fire`)" in appendix and "(`police`)" in appendix
    assert "(`medical`)" not in appendix and "(`coast_guard`)" not in appendix
    assert "Not shown (no usable answer): Emergency Physician" in appendix
    assert "**Immediate actions.**\n\n" not in md and "**Rationale.** \n" not in md


def test_demo_model_notice_and_no_notice_for_production() -> None:
    assert "demonstration model" in to_markdown(
        sample_report(base="embedded:smollm2-135m-instruct")
    )
    assert "demonstration model" not in to_markdown(sample_report())


def test_greek_fixed_text() -> None:
    md = to_markdown(sample_report(), "el")
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
    r = sample_report()
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
        to_markdown(sample_report(), "fr")


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
    b = build_brief(sample_report())
    assert b.confidence_level in ("high", "moderate", "low")
    assert "1 of" not in b.confidence or b.confidence_level != "high"


@pytest.mark.skipif(
    "summary" not in Report.model_fields, reason="report status/summary fields not landed"
)
def test_grounded_summary_status_and_sources_from_the_report() -> None:
    r = sample_report().model_copy(
        update={
            "status": "degraded",
            "status_reason": "every expert fell back",
            "notice": "Demonstration model: do not act on it.",
            "summary": Report.model_fields["summary"].annotation.model_validate(
                {
                    "actions": [{"expert_id": "police", "text": "Close the Rovies road"}],
                    "concerns": [{"expert_id": "fire", "text": "Wind shift"}],
                    "withheld": 3,
                }
            ),
        }
    )
    page = to_markdown(r).partition("\n---\n")[0]
    assert "> **Notice:** Degraded run" in page and "every expert fell back" in page
    assert "Demonstration model: do not act on it." in page and "small demonstration" not in page
    actions = page.split("## Actions by service")[1].split("## Key risks")[0]
    assert "Close the Rovies road" in actions and "Open the coastal corridor" not in actions
    assert "Wind shift" in page.split("## Key risks")[1].split("## Dissent")[0]
    assert "3 action(s) or concern(s) held back" in page
