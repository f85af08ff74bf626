"""The grounding checker (crisis_mas/safety/grounding.py) and its chain link, on known inputs."""

from __future__ import annotations

from crisis_mas.middleware.grounding import CUT_TAG, EXTRA_TAG, GroundingLink, reference_for
from crisis_mas.pool.types import ChatMessage, GenerationRequest, GenerationResult
from crisis_mas.safety.grounding import Reference, check, grounded_rate

SCENARIO = (
    "North Evia wildfire threatening Limni, Rovies and Mantoudi. The fire head is 3 km from "
    "Rovies and 5 km from Limni. 112 alerts have been sent to four villages. Resources on "
    "scene: 31 fire engines, 4 Canadair, 2 helicopters. Smoke closes the coastal road."
)


def _ungrounded(text: str, ref: Reference | None = None) -> list[str]:
    return [c.text for c in check(text, ref or Reference([SCENARIO])) if not c.grounded]


def test_invented_places_units_and_agencies_are_flagged() -> None:
    assert _ungrounded("Send satellite phones to Rivesale and Mantoudi") == ["Rivesale"]
    assert _ungrounded("US security patrols outside Rakeschakma") == ["US", "Rakeschakma"]
    assert _ungrounded("Keep American helicopters close to the forest lanes") == ["American"]
    assert _ungrounded("a single radio call for Ropes and Locksmiths") == ["Locksmiths"]
    assert _ungrounded("Coordinate the eastern markets with ROCs") == ["ROCs"]
    assert _ungrounded("Rembrance is cut off by the fire") == ["Rembrance"]


def test_invented_figures_and_forces_are_flagged() -> None:
    assert _ungrounded("Six fishing boats wait 7 km north of Limni") == ["Six", "7"]
    assert _ungrounded("Deploy battle tanks along the road") == ["battle tanks"]
    # The same value given with another unit, or counting something else, does not ground it.
    assert _ungrounded("Hold the line for 5 hours") == ["5"]
    assert _ungrounded("Hold the line for 31 hours") == ["31"]
    assert _ungrounded("Send 112 hot showers to the villages") == ["112"]
    assert _ungrounded("Keep all 31 engines at Rovies and two helicopters overhead") == []
    assert _ungrounded("The fire head is 3 kilometres from Rovies") == []


def test_what_the_scenario_lexicon_and_tables_give_is_grounded() -> None:
    text = (
        "Evacuate Limni harbour now; four villages got 112 alerts. Call EKAB and the Hellenic "
        "Coast Guard; Canadair drops on the head; buses to Chalkida."
    )
    claims = check(text, Reference([SCENARIO]))
    assert claims and all(c.grounded for c in claims), [c for c in claims if not c.grounded]
    assert {c.source for c in claims} == {"given", "lexicon"}
    hazmat = check("Ammonia: IDLH 300 ppm, isolate 100 m.", Reference([]), {"un_number": "1005"})
    assert [c.source for c in hazmat] == ["hazmat tables", "hazmat tables"]


def test_invented_terms_and_designations_are_flagged() -> None:
    assert _ungrounded("Send retos crews to the permaanians") == ["retos", "permaanians"]
    assert _ungrounded("Wear Level E suits near the tank") == ["Level E"]
    ref = Reference([SCENARIO, "Hazmat crews wear Level A suits."])
    assert _ungrounded("Wear Level A suits near the tank", ref) == []
    # Ordinary words an English dictionary knows are no claims, whatever our texts contain.
    assert _ungrounded("Deluged streets; the hardest hit and oldest residents in restrooms") == []


def test_ordinary_capitalised_words_are_not_claims() -> None:
    text = "Smoke rolling into the sea. Evacuate the elderly. Reconfirm the road is open."
    assert check(text, Reference([SCENARIO])) == []


def test_greek_inflection_and_script() -> None:
    ref = Reference(["Πυρκαγιά στη Λίμνη και στις Ροβιές"])
    assert _ungrounded("Εκκένωση της Λίμνης και των Ροβιών με το ΕΚΑΒ", ref) == []
    assert _ungrounded("Εκκένωση προς την Ραφτοπόλη", ref) == ["Ραφτοπόλη"]


def test_rate() -> None:
    claims = check("Send Rivesale crews to Limni", Reference([SCENARIO]))
    assert grounded_rate(claims) == 0.5
    assert grounded_rate([]) is None


def _request(user: str, **tags: str) -> GenerationRequest:
    return GenerationRequest(
        messages=[
            ChatMessage(role="system", content="You are the fire commander."),
            ChatMessage(role="user", content=user),
        ],
        tags={"kind": "assessment", "expert": "fire", **tags},
    )


def test_link_flags_items_and_reads_the_request() -> None:
    link = GroundingLink()
    req = _request(SCENARIO, **{EXTRA_TAG: "Municipality: Mantoudi - Limni - Agia Anna"})
    res = GenerationResult(request_id=req.request_id, text="Move people to Agia Anna and Kolpos.")
    out = link.around("generate", [req], lambda rs: [res])[0]
    assert [(f["type"], f["item"]) for f in out.flags] == [("ungrounded_claim", "Kolpos")]
    assert "neither the scenario" in out.flags[0]["reason"]
    assert link.health()["claims"] == 2 and link.health()["grounded"] == 1


def test_a_correction_never_grounds_what_it_quotes() -> None:
    correction = "\nCORRECTION: 'Kolpos' is in neither the scenario nor the references."
    req = _request(SCENARIO + correction, **{CUT_TAG: str(len(SCENARIO))})
    assert not reference_for(req).knows("kolpos")
    assert reference_for(_request(SCENARIO + correction)).knows("kolpos")


def test_link_skips_other_kinds_and_blocked_results() -> None:
    link = GroundingLink()
    req = _request(SCENARIO)
    req.tags["kind"] = "chat"
    res = GenerationResult(request_id=req.request_id, text="Go to Kolpos.")
    assert link.around("generate", [req], lambda rs: [res])[0].flags == []
    blocked = _request("x")
    res = GenerationResult(request_id=blocked.request_id, text="Kolpos", blocked=True)
    assert link.around("generate", [blocked], lambda rs: [res])[0].flags == []


def test_link_exports_prometheus_counts() -> None:
    from crisis_mas.middleware.metrics import metrics_text

    link = GroundingLink()
    req = _request(SCENARIO)
    req.tags["expert"] = "grounding_metrics_probe"
    res = GenerationResult(request_id=req.request_id, text="Limni and Kolpos.")
    link.around("generate", [req], lambda rs: [res])
    text = metrics_text()[0].decode()
    probe = 'expert="grounding_metrics_probe"'
    lines = [ln for ln in text.splitlines() if probe in ln and not ln.startswith("#")]
    assert any(
        ln.startswith("crisis_mas_grounded_claim_rate{") and ln.endswith(" 0.5") for ln in lines
    )
    assert any(
        "crisis_mas_grounding_claims_total{" in ln and 'grounded="false"' in ln for ln in lines
    )
