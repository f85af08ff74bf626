"""The rule book's broadened coverage, one published decision point per test, each on wording of
our own (not an eval case's): the fact is read, the rule fires, and the flipped fact flips it."""

from __future__ import annotations

import pytest

from crisis_mas.experts.doctrine import doctrine_evidence
from crisis_mas.experts.doctrine.triage import casualty_label, start_colour
from crisis_mas.scenario import Scenario

NEUTRAL = {c: 0.5 for c in ("effectiveness", "safety", "speed", "cost", "public_acceptance")}


def scenario(type_: str, description: str, alts: list[tuple[str, str, str]]) -> Scenario:
    """A scenario of one crisis type with the given (id, name, description) alternatives."""
    return Scenario.model_validate(
        {
            "id": "cov",
            "type": type_,
            "name": "Coverage case",
            "description": description,
            "severity": 0.6,
            "available_actions": [
                {"id": i, "name": n, "description": d, "criteria_scores": NEUTRAL}
                for i, n, d in alts
            ],
        }
    )


def pick(type_: str, description: str, alts: list[tuple[str, str, str]]) -> str | None:
    return doctrine_evidence(scenario(type_, description, alts)).recommended


@pytest.mark.parametrize(
    ("text", "colour"),
    [
        ("Περπατά και μιλά.", "green"),
        ("Δεν περπατά, αναπνέει 34 φορές το λεπτό.", "red"),
        ("Δεν αναπνέει ούτε μετά τη διάνοιξη του αεραγωγού.", "black"),
        ("Δεν περπατά, αναπνέει 18 φορές το λεπτό, εκτελεί εντολές.", "yellow"),
        ("Δεν περπατά, δεν έχει κερκιδικό σφυγμό.", "red"),
    ],
)
def test_start_colours_in_greek(text: str, colour: str) -> None:
    assert start_colour(text) == colour


def test_casualty_named_in_greek_and_with_a_verb() -> None:
    assert casualty_label("Μεταφέρετε πρώτα τον μοτοσικλετιστή") == "μοτοσικλετιστη"
    assert casualty_label("The cyclist goes first") == "cyclist"


def test_greek_start_orders_the_casualties() -> None:
    text = (
        "Ο μοτοσικλετιστής περπατά. Η πεζή αναπνέει 40 φορές το λεπτό και δεν περπατά. "
        "Ο ποδηλάτης δεν αναπνέει ούτε μετά τη διάνοιξη του αεραγωγού."
    )
    alts = [
        ("m", "Μεταφέρετε πρώτα τον μοτοσικλετιστή", "Το ασθενοφόρο παίρνει τον μοτοσικλετιστή."),
        ("p", "Μεταφέρετε πρώτα την πεζή", "Το ασθενοφόρο παίρνει την πεζή."),
        ("b", "Μεταφέρετε πρώτα τον ποδηλάτη", "Το ασθενοφόρο παίρνει τον ποδηλάτη."),
    ]
    assert pick("mass_casualty", text, alts) == "p"
