"""Expert profiles are data (`experts/*.yaml`), not code: persona, doctrine, tags, weights, risk."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crisis_mas.errors import InputError, describe_validation_error
from crisis_mas.scenario import CRITERIA

PROFILES_DIR = Path(__file__).resolve().parent / "roster"


class ExpertProfile(BaseModel):
    """One commander: who they are, the doctrine they follow and how they weigh criteria."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    persona_name: str  # e.g. "Πύραρχος Νικόλαος Δημητρίου"
    title: str  # e.g. "Fire Commander, Hellenic Fire Service"
    organisation: str
    role: str  # one line: what this commander is responsible for on scene
    persona: str  # a short paragraph, second person, that goes into the system prompt
    doctrine: list[str] = Field(min_length=3)  # rules this service operates by
    expertise: list[str] = Field(min_length=1)  # tags: wildfire, hazmat, triage, cordon, ...
    crisis_types: list[str] = Field(min_length=1)  # scenario types this expert is called for
    keywords: list[str] = Field(default_factory=list)  # content cues (EN + GR) for selection
    domains: list[str] = Field(min_length=1)  # knowledge-base domains this expert searches
    criteria_weights: dict[str, float]
    risk_tolerance: float = Field(ge=0, le=1)  # 0 = very cautious, 1 = accepts high risk
    reliability_prior: float = Field(default=0.8, gt=0, le=1)

    @model_validator(mode="after")
    def _weights(self) -> ExpertProfile:
        missing = [c for c in CRITERIA if c not in self.criteria_weights]
        extra = [c for c in self.criteria_weights if c not in CRITERIA]
        if missing or extra:
            raise ValueError(f"criteria_weights must have exactly {CRITERIA}")
        total = sum(self.criteria_weights.values())
        if total <= 0 or any(w < 0 for w in self.criteria_weights.values()):
            raise ValueError("criteria_weights must be non-negative and not all zero")
        self.criteria_weights = {c: self.criteria_weights[c] / total for c in CRITERIA}
        return self


@cache
def load_profiles(directory: Path = PROFILES_DIR) -> dict[str, ExpertProfile]:
    """All profiles in a folder, keyed by id (sorted)."""
    out: dict[str, ExpertProfile] = {}
    for f in sorted(directory.glob("*.yaml")):
        try:
            prof = ExpertProfile.model_validate(yaml.safe_load(f.read_text(encoding="utf-8")))
        except ValidationError as err:
            raise InputError(describe_validation_error(err, f"{f}: ")) from None
        out[prof.id] = prof
    return out


def get_profiles(ids: list[str], directory: Path = PROFILES_DIR) -> list[ExpertProfile]:
    """Profiles for the given ids; an unknown id is an InputError naming it and the known ones."""
    known = load_profiles(directory)
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise InputError(f"unknown expert '{unknown[0]}' (known: {', '.join(known)})")
    return [known[i] for i in ids]
