"""Round 3: rules that over-fired once semantic matching gave them alternatives to act on. Each
threatening case has a calm twin that must stay silent; the wording is ours, in English and in
Greek where the facts are read in Greek (gorge flash flood, heat), not any eval suite's."""

from __future__ import annotations

import pytest
from test_doctrine_coverage import pick, scenario

from crisis_mas.experts.catalogue import families_of
from crisis_mas.experts.catalogue.semantic import ranked_actions, share_between_parallel
from crisis_mas.experts.doctrine import doctrine_evidence
from crisis_mas.experts.doctrine.facts import extract_facts

Alts = list[tuple[str, str, str]]

GORGE: Alts = [
    ("up", "Up the slope", "The walkers climb the side slope out of the gorge and wait there."),
    ("down", "Walk out", "The walkers hike down the gorge to the village at its mouth."),
    ("air", "Call the helicopter", "Ask for an air ambulance to lift the walkers."),
]
GORGE_EL: Alts = [
    ("up", "Στην πλαγιά", "Οι πεζοπόροι σκαρφαλώνουν στην πλαγιά και περιμένουν εκεί."),
    ("down", "Προς την έξοδο", "Οι πεζοπόροι βαδίζουν προς την έξοδο του φαραγγιού."),
    ("air", "Ελικόπτερο", "Ζητείται ελικόπτερο για να τους παραλάβει."),
]
WORKERS_EL: Alts = [
    ("pause", "Μεσημεριανή παύση", "Παύση υπαίθριων εργασιών από τις 12:00 ως τις 17:00."),
    ("usual", "Κανονικό ωράριο", "Το συνεργείο δουλεύει ως συνήθως με νερό και σκιά."),
    ("night", "Νυχτερινή βάρδια", "Τα συνεργεία δουλεύουν τη νύχτα με προβολείς."),
]
WORKERS: Alts = [
    ("pause", "Midday pause", "Suspend outdoor work between noon and 5 pm."),
    ("usual", "Normal shift", "The road crew works its usual hours, with shade and water."),
    ("night", "Night work", "Move the crews to a night shift under floodlights."),
]
STRUCTURE: Alts = [
    ("stay", "Hold here", "The engine backs in and will defend the houses of this lane."),
    (
        "move",
        "Go to the next street",
        "The engine leaves this house and joins the defence of the row of houses on Elm street.",
    ),
    ("wait", "Wait for aircraft", "The engine waits for a helicopter drop before acting."),
]


def _tagged(type_: str, text: str, alts: Alts, tags: list[str], factors: dict[str, object]):
    return scenario(type_, text, alts, factors).model_copy(update={"tags": tags})


# ---- flash flood in a gorge (US NWS flash-flood safety; GSCP flash-flood advice) -------------
def test_gorge_with_a_storm_upstream_means_climb() -> None:
    text = "Walkers in a gorge; a thunderstorm sits upstream and the stream is rising fast."
    assert pick("flood", text, GORGE) == "up"


def test_gorge_in_clear_weather_stays_silent_despite_its_tags() -> None:
    s = _tagged(
        "flood",
        "Walkers in a gorge, tired and lost; the sky is clear and there is no rain forecast.",
        GORGE,
        ["flood", "flash flood"],
        {"rain upstream": "none", "stream": "normal summer level, ankle deep"},
    )
    ev = doctrine_evidence(s)
    assert "rain" not in ev.facts and "moving_water" not in ev.facts
    assert ev.recommended is None


def test_greek_gorge_storm_and_calm() -> None:
    storm = "Πεζοπόροι στο φαράγγι· καταιγίδα πάνω από τα βουνά, το ρέμα φουσκώνει."
    assert pick("flood", storm, GORGE_EL) == "up"
    calm = _tagged(
        "flood",
        "Πεζοπόροι στο φαράγγι, κουρασμένοι· καθαρός ουρανός, χωρίς βροχή.",
        GORGE_EL,
        ["πλημμύρα", "flash flood"],
        {"βροχή": "καμία"},
    )
    assert doctrine_evidence(calm).recommended is None


# ---- heat (WHO Europe heat-health action plans; Greek labour-ministry heat-stress measures) ----
def test_greek_heat_warning_pauses_outdoor_work() -> None:
    text = (
        "Η ΕΜΥ εξέδωσε έκτακτο δελτίο: μέγιστη θερμοκρασία 43 °C, πολύ υψηλή θερμική "
        "καταπόνηση από τις 12:00 ως τις 17:00. Ογδόντα εργάτες δουλεύουν στους δρόμους."
    )
    assert pick("heat", text, WORKERS_EL) == "pause"


def test_greek_normal_weather_stays_silent_despite_a_heatwave_tag() -> None:
    s = _tagged(
        "heat",
        "Κανονικός καιρός, μέγιστη θερμοκρασία 30 °C, ο δείκτης θερμικής καταπόνησης είναι "
        "χαμηλός. Ογδόντα εργάτες δουλεύουν στους δρόμους.",
        WORKERS_EL,
        ["καύσωνας", "εργαζόμενοι"],
        {"δελτίο εμυ": "κανένα"},
    )
    ev = doctrine_evidence(s)
    assert "heatwave_text" not in ev.facts
    assert ev.recommended is None


def test_english_heat_stress_and_its_calm_twin() -> None:
    hot = "Heat stress is very high from noon; the maximum will be 42 °C. Road crews are out."
    assert pick("heat", hot, WORKERS) == "pause"
    calm = _tagged(
        "heat",
        "An ordinary summer day, highs of 29 °C, low heat stress. Road crews are out.",
        WORKERS,
        ["heatwave"],
        {"heat warning": "none"},
    )
    assert doctrine_evidence(calm).recommended is None


def test_a_key_stating_absence_is_no_fact_but_a_value_still_is() -> None:
    none = scenario("flood", "A quiet afternoon by the river.", GORGE, {"rain": "none"})
    assert "rain" not in extract_facts(none).values
    heavy = scenario("flood", "A quiet afternoon by the river.", GORGE, {"rain": "heavy"})
    assert extract_facts(heavy).values.get("rain") is True


# ---- NWCG structure triage (IRPG 2025 structure triage; S-215) --------------------------------
def test_non_defensible_house_sends_the_engine_to_houses_that_can_be_held() -> None:
    text = (
        "The front arrives in 20 minutes. Pines overhang the roof with no clearance, and the "
        "lane is a dead end with no room to turn an engine."
    )
    ev = doctrine_evidence(scenario("wildfire", text, STRUCTURE))
    assert ev.actions["move"] == ["wildfire.relocate_to_defensible"]
    assert ev.recommended == "move"
    assert ev.support["stay"] < 0 < ev.support["move"]


def test_defensible_house_is_prepared_and_held() -> None:
    text = (
        "The front arrives in 20 minutes. A ring of 30 m of gravel and irrigated lawn surrounds "
        "the house, and the lane ends in a turning circle."
    )
    assert pick("wildfire", text, STRUCTURE) == "stay"


def test_structure_triage_silent_without_facts_about_the_structure() -> None:
    assert pick("wildfire", "The front arrives in 20 minutes.", STRUCTURE) is None


# ---- the same action at two sites (INSARAG worksite triage is by site, which rules do not read)
SITES: Alts = [
    (
        "to_ermou",
        "Rescue crew to the collapsed block",
        "The whole rescue crew works the collapsed block on Ermou street for the afternoon.",
    ),
    (
        "to_athinas",
        "Rescue crew to the collapsed block",
        "The whole rescue crew works the collapsed block on Athinas street for the afternoon.",
    ),
    ("shelter", "Open a shelter", "Open the school gym as a shelter for the homeless families."),
]


def test_same_action_at_two_sites_is_matched_alike_and_not_picked_by_id() -> None:
    text = "After the earthquake a woman answers knocking from under the block on Athinas."
    ev = doctrine_evidence(scenario("earthquake", text, SITES))
    assert ev.actions["to_ermou"] == ev.actions["to_athinas"]
    if ev.support["to_ermou"] == ev.support["to_athinas"] == max(ev.support.values()):
        assert ev.recommended is None


def test_parallel_sibling_shares_its_action_but_an_unrelated_one_does_not() -> None:
    s = scenario("earthquake", "Two collapses after the earthquake.", SITES)
    fams = families_of(s)
    alts = {a.id: a for a in s.available_actions}
    nearest = ranked_actions(alts["to_ermou"], fams)[0][0]
    shared = share_between_parallel(
        s.available_actions, {"to_ermou": [], "to_athinas": [nearest], "shelter": []}, fams
    )
    assert shared["to_ermou"] == [nearest]
    assert shared["shelter"] == [] or ranked_actions(alts["shelter"], fams)[0][0] != nearest


@pytest.mark.parametrize("site", ["Ermou", "Athinas"])
def test_tie_between_identical_actions_is_no_pick(site: str) -> None:
    text = f"After the earthquake tapping is heard from the rubble on {site} street."
    alts: Alts = [
        ("a", "USAR to Ermou", "Search and rescue team to the block on Ermou street."),
        ("b", "USAR to Athinas", "Search and rescue team to the house on Athinas street."),
        ("c", "Open a shelter", "Open the school gym as a shelter for families."),
    ]
    ev = doctrine_evidence(scenario("earthquake", text, alts))
    assert ev.actions["a"] == ev.actions["b"]
    assert ev.recommended is None
