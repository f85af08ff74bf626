"""Our own catalogue of standard actions per crisis family (YAML beside this file), each with
the service that owns it, typed parameters and the publication it follows.

Two uses: the doctrine rules recognise which catalogue actions an alternative carries out
(`match_alternative`), and experts choose and parameterise a catalogue action by constrained
decoding (`crisis_mas.experts.catalogue.choice`) instead of inventing one.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crisis_mas.errors import InputError
from crisis_mas.experts.textmatch import compile_cue, find, fold
from crisis_mas.scenario import Alternative, Scenario

CATALOGUE_DIR = Path(__file__).resolve().parent
ParamKind = Literal["distance_m", "place", "compass"]
# Which parameter kinds hold numbers and which hold places (for the grounding check).
NUMBER_KINDS: frozenset[str] = frozenset({"distance_m"})
PLACE_KINDS: frozenset[str] = frozenset({"place"})
Service = Literal[
    "fire",
    "police",
    "medical",
    "civil_protection",
    "coast_guard",
    "hazmat",
    "seismic",
    "meteorology",
]
SERVICES: tuple[str, ...] = get_args(Service)
FAMILIES = (
    "wildfire",
    "hazmat",
    "flood",
    "earthquake",
    "mass_casualty",
    "crowd",
    "maritime",
    "heat",
)


class CatalogueAction(BaseModel):
    """One standard action: who owns it, what it takes as parameters, where it comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    name: str = Field(min_length=3)
    # One line in our own words of what carrying it out looks like (what semantic matching
    # compares an alternative's wording with, beside the name).
    description: str = Field(default="", max_length=200)
    owner: Service
    # Other services that also carry it out (they are offered it too).
    partners: tuple[str, ...] = ()
    families: tuple[str, ...] = Field(min_length=1)
    params: dict[str, ParamKind] = Field(default_factory=dict)
    cues: tuple[str, ...] = Field(min_length=1)
    exclude: tuple[str, ...] = ()
    source: str = Field(min_length=10)

    @field_validator("families")
    @classmethod
    def _known_families(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [f for f in v if f not in FAMILIES]
        if unknown:
            raise ValueError(f"unknown family '{unknown[0]}' (known: {', '.join(FAMILIES)})")
        return v

    @field_validator("params")
    @classmethod
    def _one_param(cls, v: dict[str, str]) -> dict[str, str]:
        if len(v) > 1:
            raise ValueError("at most one parameter per action (options read 'name value')")
        return v

    @field_validator("partners")
    @classmethod
    def _known_services(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [x for x in v if x not in SERVICES]
        if unknown:
            raise ValueError(f"unknown service '{unknown[0]}' (known: {', '.join(SERVICES)})")
        return v

    @field_validator("cues", "exclude")
    @classmethod
    def _compiles(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for p in v:
            compile_cue(p)  # a bad regex fails at load, naming nothing silently
        return v


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    family: str
    actions: list[CatalogueAction] = Field(min_length=1)


@cache
def load_catalogue(directory: Path = CATALOGUE_DIR) -> dict[str, CatalogueAction]:
    """Every action of every catalogue file, by id (ids are unique across files)."""
    out: dict[str, CatalogueAction] = {}
    shorts: set[str] = set()
    for f in sorted(directory.glob("*.yaml")):
        try:
            data = _File.model_validate(yaml.safe_load(f.read_text(encoding="utf-8")))
        except ValidationError as err:
            raise InputError(f"{f}: {err}") from None
        for a in data.actions:
            short = a.id.split(".", 1)[1]
            if a.id in out or short in shorts:
                raise InputError(f"{f}: duplicate catalogue action '{a.id}'")
            out[a.id] = a
            shorts.add(short)
    return out


_TYPE_FAMILIES = {
    "wildfire": (
        "wildfire",
        "forest_fire",
        "wui_fire",
        "wildland_fire",
        "bushfire",
        "grass_fire",
        "brush_fire",
        "wildland_urban_interface",
    ),
    "hazmat": (
        "hazmat",
        "chemical_release",
        "industrial_fire",
        "cbrn",
        "toxic_gas",
        "chemical",
        "chemical_spill",
        "gas_leak",
        "toxic_release",
        "industrial_accident",
        "dangerous_goods",
        "confined_space",
    ),
    "flood": (
        "flood",
        "flash_flood",
        "storm",
        "medicane",
        "dam_failure",
        "river_flood",
        "dam_break",
        "levee_failure",
        "torrential_rain",
        "swiftwater_rescue",
        "water_rescue",
    ),
    "earthquake": ("earthquake", "tsunami", "building_collapse", "landslide", "aftershock"),
    "mass_casualty": (
        "mass_casualty",
        "transport_accident",
        "mci",
        "road_accident",
        "triage",
        "rail_accident",
        "train_crash",
        "bus_crash",
        "explosion",
        "terrorism",
    ),
    "crowd": (
        "crowd_crush",
        "crowd",
        "mass_gathering",
        "public_order",
        "concert",
        "stadium",
        "stampede",
        "crowd_surge",
        "festival",
    ),
    "maritime": (
        "maritime",
        "oil_spill",
        "ferry_incident",
        "port_incident",
        "migrant_rescue",
        "sea_rescue",
        "ship_fire",
        "shipwreck",
        "search_and_rescue_at_sea",
        "vessel_in_distress",
    ),
    "heat": ("heatwave", "heat", "heat_illness", "heat_wave", "extreme_heat", "heat_stroke"),
}


def families_of(scenario: Scenario) -> set[str]:
    """The crisis families a scenario belongs to, from its type, subtypes and tags (a compound
    name such as `river_flood_2026` counts by the family names it contains)."""
    es = scenario.expert_selection
    words = {scenario.type, es.crisis_type or "", *es.crisis_subtypes, *scenario.tags}
    words = {w.lower() for w in words if w}
    out = {fam for fam, names in _TYPE_FAMILIES.items() if words & set(names)}
    for fam, names in _TYPE_FAMILIES.items():
        long_names = [n for n in names if len(n) >= 5 and n != "storm"]  # not snowstorm
        if any(n in w for w in words for n in long_names):
            out.add(fam)
    if es.hazmat_specific is not None:
        out.add("hazmat")
    return out


def alternative_text(alt: Alternative) -> str:
    """What an alternative says it does (name and description), folded for matching."""
    return fold(f"{alt.name}. {alt.description}")


def match_alternative(alt: Alternative) -> list[str]:
    """Ids of the catalogue actions an alternative carries out (by their cues, not negated)."""
    text = alternative_text(alt)
    out = []
    for a in load_catalogue().values():
        if find(text, a.cues) and not find(text, a.exclude, negation=False):
            out.append(a.id)
    return out


def actions_for(families: set[str], owner: str | None = None) -> list[CatalogueAction]:
    """Catalogue actions offered in these families: a service's own and partnered ones, or all of
    them when it has none there."""
    offered = [a for a in load_catalogue().values() if set(a.families) & families]
    own = [a for a in offered if owner in (a.owner, *a.partners)] if owner else []
    return sorted(own or offered, key=lambda a: a.id)
