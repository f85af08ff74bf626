"""The fact signature a semantic cache hit must match: chemicals, numbers, units, UN, places."""

from __future__ import annotations

import pytest

from crisis_mas.middleware.cache.entities import signature


def test_paraphrases_share_a_signature() -> None:
    a = signature("What is the isolation distance for a chlorine leak of 50 ppm at Odos Ermou 12?")
    b = signature("For a 50 ppm chlorine leak at Odos Ermou 12, what isolation distance applies?")
    assert a == b
    assert {"chem:chlorine", "num:50", "unit:ppm", "num:12", "street:ermou"} <= a


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("isolation distance for a chlorine leak", "isolation distance for an ammonia leak"),
        ("isolation distance for a chlorine leak", "isolation distance for a Cl2 leak of 5 ppm"),
        ("chlorine at 50 ppm", "chlorine at 500 ppm"),
        ("chlorine at 50 ppm", "chlorine at 50 mg/m3"),
        ("fire at 5th Ave", "fire at 6th Ave"),
        ("leak on Ermou Street", "leak on Stadiou Street"),
        ("UN1005 tanker rollover", "UN1017 tanker rollover"),
        ("acrylonitrile spill", "acetonitrile spill"),  # both unknown to our own list
        ("is it safe to enter with SCBA", "is it safe to enter without SCBA"),
        ("evacuate downwind", "evacuate upwind"),
        ("antidote dose for children", "antidote dose for adults"),
        ("fifty people trapped", "five hundred people trapped"),
        ("a fire in Patras", "a fire in Larissa"),
        ("distance in metres", "distance in feet"),
    ],
)
def test_near_misses_differ(left: str, right: str) -> None:
    assert signature(left) != signature(right)


def test_synonyms_and_formulas_are_one_chemical() -> None:
    assert "chem:ammonia" in signature("an NH3 release")
    assert "chem:ammonia" in signature("anhydrous ammonia release")
    # Greek, inflected: "χλωρίου" is the genitive of "χλώριο".
    assert "chem:chlorine" in signature("Διαρροή χλωρίου στον Πειραιά")
    assert "place:piraeus" in signature("Διαρροή χλωρίου στον Πειραιά")


def test_un_numbers_and_units() -> None:
    sig = signature("UN 1005 leak, 20 tonnes, 3.5 km away")
    assert {"un:1005", "num:20", "unit:t", "num:3.5", "unit:km"} <= sig
    # A formula's digits are not a number: H2S has no "2".
    assert "num:2" not in signature("H2S detected")


def test_function_words_are_not_facts() -> None:
    assert signature("What should we do?") == signature("what should we do")
