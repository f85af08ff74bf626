"""Scenario schema (the crisis_mas_poc JSON format, read unchanged) and the loader for YAML/JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from crisis_mas.errors import InputError, describe_validation_error
from crisis_mas.textio import load_structured_file

CRITERIA = ("effectiveness", "safety", "speed", "cost", "public_acceptance")
MAX_ID_CHARS = 200


def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("must not be blank (only spaces)")
    return v


# An identifier: 1-200 characters, not only whitespace (runs are stored and looked up by it).
Ident = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS), AfterValidator(_not_blank)]


class _Open(BaseModel):
    """Keeps unknown fields: scenario files carry extras (camera feeds, Greek names) we keep."""

    model_config = ConfigDict(extra="allow")


class CriteriaScores(_Open):
    """Scores in [0, 1]; every criterion is a benefit (for `cost`, higher means cheaper)."""

    effectiveness: float = Field(ge=0, le=1)
    safety: float = Field(ge=0, le=1)
    speed: float = Field(ge=0, le=1)
    cost: float = Field(ge=0, le=1)
    public_acceptance: float = Field(ge=0, le=1)

    def vector(self) -> list[float]:
        return [getattr(self, c) for c in CRITERIA]


class Alternative(_Open):
    id: Ident
    name: str
    description: str = ""
    required_resources: list[str] = Field(default_factory=list)
    estimated_duration: str | None = None
    risk_level: float | None = Field(default=None, ge=0, le=1)
    criteria_scores: CriteriaScores


class Coordinates(_Open):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Location(_Open):
    region: str = ""
    coordinates: Coordinates | None = None


class Constraints(_Open):
    time_critical: bool = False
    resource_limitations: list[str] = Field(default_factory=list)
    weather_conditions: str | None = None
    accessibility: str | None = None
    additional_concerns: list[str] = Field(default_factory=list)


class HazmatSpecific(_Open):
    chemical: str | None = None
    un_number: str | None = None
    hazard_class: str | None = None
    idlh: str | None = None


class ExpertSelection(_Open):
    crisis_type: str | None = None
    crisis_subtypes: list[str] = Field(default_factory=list)
    affected_domains: list[str] = Field(default_factory=list)
    hazmat_specific: HazmatSpecific | None = None


class Scenario(_Open):
    """One crisis scenario; `available_actions` are the alternatives the experts rank."""

    id: Ident
    type: Ident
    name: str
    description: str = ""
    severity: float = Field(ge=0, le=1)
    affected_population: int = Field(default=0, ge=0)
    casualties: int = Field(default=0, ge=0)
    infrastructure_damage: bool = False
    location: Location = Field(default_factory=Location)
    tags: list[str] = Field(default_factory=list)
    available_actions: list[Alternative]
    constraints: Constraints = Field(default_factory=Constraints)
    real_time_factors: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    expert_selection: ExpertSelection = Field(default_factory=ExpertSelection)

    @field_validator("available_actions")
    @classmethod
    def _needs_alternatives(cls, v: list[Alternative]) -> list[Alternative]:
        if len(v) < 2:
            raise ValueError("a scenario needs at least 2 alternatives to rank")
        return v

    @model_validator(mode="after")
    def _unique_ids(self) -> Scenario:
        ids = [a.id for a in self.available_actions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate alternative ids: {', '.join(dupes)}")
        return self

    @property
    def alternative_ids(self) -> list[str]:
        return [a.id for a in self.available_actions]

    def alternative(self, alt_id: str) -> Alternative:
        for a in self.available_actions:
            if a.id == alt_id:
                return a
        raise KeyError(alt_id)


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    """Validate an already-decoded object; raises InputError naming the field."""
    if not isinstance(data, dict):
        raise InputError(
            f"{source}: expected an object at the top level, got {type(data).__name__}"
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise InputError(describe_validation_error(err, f"{source}: ")) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario from a .json, .yaml or .yml file: size, UTF-8, nesting depth and YAML
    alias expansion are checked before anything is built (`crisis_mas.textio`)."""
    p = Path(path)
    return parse_scenario(load_structured_file(p, "scenario file"), str(p))


def bundled_scenarios_dir() -> Path:
    """The repo's `scenarios/` folder (bundled examples)."""
    return Path(__file__).resolve().parent.parent / "scenarios"
