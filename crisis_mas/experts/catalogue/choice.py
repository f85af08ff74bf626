"""An expert chooses and parameterises one catalogue action by constrained decoding.

The options are rendered as short strings (`isolate_cordon 600`: the action's name within its
family, then its parameter's value; a few tokens, so constrained decoding takes few steps), one
per catalogue action of the expert's service for the scenario's crisis families and per
candidate value of its parameter. Candidate values come only from the scenario and the reference
tables (distances stated in the scenario, the ERG isolation distance of its substance, places it
names, compass sectors), so every number and place in a chosen action is checkable. The engine
can only return one of the options (guided choice); `parse_choice` turns it back into a typed
`CatalogueChoice`. Free text stays in the expert's rationale.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from crisis_mas.experts.catalogue import (
    NUMBER_KINDS,
    PLACE_KINDS,
    CatalogueAction,
    actions_for,
    families_of,
    load_catalogue,
)
from crisis_mas.scenario import Scenario

COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
MAX_VALUES = 5  # candidate values per parameter
MAX_OPTIONS = 400  # options per expert (guided-choice grammars stay small)
_OPTION = re.compile(
    r'^(?P<id>[a-z_]+\.[a-z_]+)(?P<params>(?: [a-z_]+=(?:"[^"]*"|[0-9]+|[A-Z]{1,2}))*)$'
)
_PARAM = re.compile(r'([a-z_]+)=("[^"]*"|[0-9]+|[A-Z]{1,2})')
_LENGTH = re.compile(r"(\d+(?:[.,]\d+)?)\s*(km|m)\b")
_PLACE = re.compile(
    r"\b(?:at|in|near|towards|to|of|from|off|on)\s+(?:the\s+)?"
    r"((?:[A-Z][a-z]+|[Α-Ω][α-ωά-ώ]+)(?:[ -](?:[A-Z][a-z]+|[Α-Ω][α-ωά-ώ]+)){0,2})"
)
_NOT_PLACES = {"The", "A", "An", "EKAB", "ERG", "UN", "Beaufort", "ΕΜΑΚ", "Guide", "Table"}


class CatalogueChoice(BaseModel):
    """A catalogue action an expert chose, with its parameter values and where they come from."""

    id: str
    name: str
    owner: str
    params: dict[str, str | int] = Field(default_factory=dict)
    source: str
    text: str  # the option string the engine returned
    # Which parameters hold numbers and which hold places (for the grounding check).
    number_params: list[str] = Field(default_factory=list)
    place_params: list[str] = Field(default_factory=list)

    @property
    def places(self) -> list[str]:
        return [str(self.params[k]) for k in self.place_params if k in self.params]

    @property
    def numbers(self) -> list[str]:
        return [str(self.params[k]) for k in self.number_params if k in self.params]

    def describe(self) -> str:
        """'Isolate the area with a cordon (radius_m 600) [police]'."""
        args = ", ".join(f"{k} {v}" for k, v in self.params.items())
        return f"{self.name}" + (f" ({args})" if args else "") + f" [{self.owner}]"


def distances_m(scenario: Scenario, isolation_m: float | None = None) -> list[int]:
    """Distances the scenario states (m), plus the ERG isolation distance of its substance."""
    from crisis_mas.experts.doctrine.facts import situation_text

    found: list[int] = []
    if isolation_m:
        found.append(int(isolation_m))
    for m in _LENGTH.finditer(situation_text(scenario)):
        v = float(m.group(1).replace(",", ".")) * (1000 if m.group(2) == "km" else 1)
        if 10 <= v <= 50_000 and int(v) not in found:
            found.append(int(v))
    return found[:MAX_VALUES]


def places(scenario: Scenario) -> list[str]:
    """Places the scenario names: its region's parts, then names after place prepositions."""
    out: list[str] = []
    for part in re.split(r"[,;/()]| - ", scenario.location.region or ""):
        part = part.strip()
        if part and part[0].isupper() and part not in out:
            out.append(part)
    for m in _PLACE.finditer(scenario.description):
        name = m.group(1)
        if name not in _NOT_PLACES and name not in out:
            out.append(name)
    return [p for p in out if '"' not in p][:MAX_VALUES]


def _values(kind: str, scenario: Scenario, isolation_m: float | None) -> list[str]:
    if kind in NUMBER_KINDS:
        return [str(v) for v in distances_m(scenario, isolation_m)]
    if kind in PLACE_KINDS:
        return places(scenario)
    return list(COMPASS)


def short_id(action_id: str) -> str:
    """`protect.isolate_cordon` -> `isolate_cordon` (unique across the catalogue)."""
    return action_id.split(".", 1)[1]


def options_for(scenario: Scenario, owner: str, isolation_m: float | None = None) -> list[str]:
    """Every option string the expert may choose from (empty: nothing in the catalogue fits)."""
    out: list[str] = []
    for action in actions_for(families_of(scenario), owner):
        values = [
            _values(kind, scenario, isolation_m) for kind in action.params.values()
        ]  # at most one parameter per action (checked on load)
        if values and values[0]:
            out += [f"{short_id(action.id)} {v}" for v in values[0]]
        else:
            out.append(short_id(action.id))
    return out[:MAX_OPTIONS]


def parse_choice(text: str, options: list[str]) -> CatalogueChoice | None:
    """The chosen option as a typed action; None unless it is exactly one of the options."""
    text = text.strip()
    if text not in options:
        return None
    short, _, value = text.partition(" ")
    by_short = {short_id(a): a for a in load_catalogue()}
    action: CatalogueAction | None = load_catalogue().get(by_short.get(short, ""))
    if action is None:
        return None
    params: dict[str, str | int] = {}
    if action.params and value:
        name = next(iter(action.params))
        params[name] = int(value) if value.isdigit() else value
    return CatalogueChoice(
        id=action.id,
        name=action.name,
        owner=action.owner,
        params=params,
        source=action.source,
        text=text,
        number_params=[k for k, kind in action.params.items() if kind in NUMBER_KINDS],
        place_params=[k for k, kind in action.params.items() if kind in PLACE_KINDS],
    )
