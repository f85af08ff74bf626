"""Catalogue actions recognised by meaning (`experts/catalogue/semantic.py`), with the real
multilingual e5 embedder (local, no fake): paraphrases of our own in English and Greek that no cue
matches find their action, unrelated or negated wording finds none, and cue matches stay
authoritative."""

from __future__ import annotations

import pytest

from crisis_mas.experts.catalogue import load_catalogue, match_alternative
from crisis_mas.experts.catalogue.semantic import (
    DEFAULT,
    affirmative,
    match_by_cue_or_meaning,
    ranked_actions,
    semantic_match,
)
from crisis_mas.experts.doctrine import doctrine_evidence
from crisis_mas.scenario import Alternative
from tests.unit.test_doctrine_coverage import scenario

NEUTRAL = {c: 0.5 for c in ("effectiveness", "safety", "speed", "cost", "public_acceptance")}


def alt(id_: str, name: str, description: str = "") -> Alternative:
    return Alternative.model_validate(
        {"id": id_, "name": name, "description": description, "criteria_scores": NEUTRAL}
    )


@pytest.mark.parametrize(
    ("families", "a", "want"),
    [
        (
            {"heat"},
            alt(
                "postpone",
                "Move the street festival to October",
                "The outdoor festival planned for the afternoon is put off until it is cooler.",
            ),
            "medical.limit_outdoor_activity",
        ),
        (
            {"flood"},
            alt(
                "ledge",
                "Scramble up to the ledge",
                "The hikers leave the streambed and scramble up the rocky side to a ledge well "
                "above the water.",
            ),
            "flood.climb_out",
        ),
        (
            {"earthquake"},
            alt(
                "v_b",
                "Στήριξη του ραγισμένου τοίχου πριν την είσοδο",
                "Ξύλινες αντηρίδες τοποθετούνται στον τοίχο πριν μπουν οι διασώστες.",
            ),
            "earthquake.shoring",
        ),
        (
            {"heat"},
            alt(
                "v_c",
                "Αναβολή του αγώνα δρόμου",
                "Ο αγώνας μεταφέρεται σε άλλη ημερομηνία λόγω της ζέστης.",
            ),
            "medical.limit_outdoor_activity",
        ),
    ],
    ids=["english_heat", "english_flood", "greek_earthquake", "greek_heat"],
)
def test_a_paraphrase_no_cue_matches_finds_its_action(
    families: set[str], a: Alternative, want: str
) -> None:
    assert match_alternative(a) == []  # the cues do not reach this wording
    assert semantic_match(a, families) == [want]
    assert match_by_cue_or_meaning(a, families) == [want]


@pytest.mark.parametrize(
    "a",
    [
        alt("budget", "Publish the municipal budget", "The mayor's office posts it online."),
        alt("lunch", "Order lunch for the staff", "Someone phones the bakery for sandwiches."),
    ],
)
def test_an_unrelated_alternative_matches_nothing(a: Alternative) -> None:
    families = {"wildfire", "hazmat", "flood", "earthquake"}
    assert ranked_actions(a, families)  # there were candidates, none near enough
    assert semantic_match(a, families) == []


def test_a_cue_match_is_not_overridden() -> None:
    a = alt("convoy", "Convoys out along the coast road", "Buses take people away.")
    cued = match_alternative(a)
    assert cued == ["protect.evacuate", "protect.road_evacuation"]
    assert match_by_cue_or_meaning(a, {"wildfire"}) == cued
    assert match_by_cue_or_meaning(a, {"wildfire"}, None) == cued  # cues-only still available


def test_negated_wording_does_not_match() -> None:
    said = "Engines guard the homes on the village fringe as the flames arrive."
    assert semantic_match(alt("guard", said), {"wildfire"}) == ["wildfire.structure_defence"]
    unsaid = alt("guard", "Do not send engines to guard the homes on the village fringe")
    assert semantic_match(unsaid, {"wildfire"}) == []


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Evacuate without waiting for orders.", "Evacuate"),
        ("Stay put instead of driving out. Then wait.", "Stay put Then wait."),
        ("No evacuation. Keep residents indoors.", "Keep residents indoors."),
        ("Καμία μετακίνηση. Χωρίς νερό στη δεξαμενή", "Καμία μετακίνηση."),
    ],
)
def test_affirmative_leaves_out_what_a_negation_governs(text: str, kept: str) -> None:
    assert affirmative(text) == kept


def test_greek_wording_needs_less_similarity_than_english() -> None:
    assert DEFAULT.threshold_for("Στήριξη του τοίχου") == DEFAULT.threshold - DEFAULT.greek_offset
    assert DEFAULT.threshold_for("Brace the wall (τοίχος)") == DEFAULT.threshold


def test_only_actions_of_the_scenarios_families_are_candidates() -> None:
    a = alt("ledge", "Scramble up to the ledge", "They climb the rocky side above the water.")
    catalogue = load_catalogue()
    assert all("wildfire" in catalogue[i].families for i, _ in ranked_actions(a, {"wildfire"}))
    assert ranked_actions(a, set()) == []


def test_doctrine_rules_see_the_semantic_match() -> None:
    s = scenario(
        "heatwave",
        "A heatwave: 44 degrees forecast for the afternoon; an outdoor festival is planned.",
        [
            ("postpone", "Move the street festival to October", "It is put off until cooler."),
            ("as_planned", "Hold the festival this afternoon", "It goes ahead at 15:00."),
        ],
    )
    cues_only = doctrine_evidence(s, semantic=None)
    assert cues_only.actions["postpone"] == []
    with_meaning = doctrine_evidence(s)
    assert with_meaning.actions["postpone"] == ["medical.limit_outdoor_activity"]
    assert with_meaning.recommended == "postpone"
    assert DEFAULT.threshold > 0.8 and DEFAULT.margin > 0
