"""Eval suites: scenarios plus labels written from doctrine (acceptable / unacceptable
alternatives, facts an answer must not get wrong). Labels are checked against the scenario's ids
on load, so a renamed alternative fails loudly instead of silently scoring zero."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crisis_mas.errors import InputError
from crisis_mas.scenario import (
    Scenario,
    bundled_scenarios_dir,
    describe_validation_error,
    load_scenario,
)

SUITES_DIR = Path(__file__).resolve().parent.parent.parent / "evals" / "suites"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Unacceptable(_Strict):
    id: str
    reason: str = Field(min_length=10)


class Fact(_Strict):
    """A stated fact: `pattern` captures the value an answer states; anything else is an error."""

    name: str
    pattern: str
    value: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            if re.compile(v).groups < 1:
                raise ValueError("pattern needs one capturing group for the stated value")
        except re.error as err:
            raise ValueError(f"bad regex: {err}") from None
        return v

    def wrong_values(self, text: str) -> list[str]:
        """Values stated in `text` that differ from the reference (numbers compared as numbers)."""
        out = []
        for m in re.finditer(self.pattern, text):
            stated = m.group(1).rstrip(".,").replace(",", "")
            if not _same(stated, self.value):
                out.append(stated)
        return out


def _same(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return a.strip().lower() == b.strip().lower()


class ScenarioLabels(_Strict):
    scenario: str  # scenario file, relative to the scenarios folder (or absolute)
    scenario_id: str
    acceptable: list[str] = Field(min_length=1)
    unacceptable: list[Unacceptable] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)
    # Counterfactual suites: the pair this scenario belongs to (its twin differs only in the facts
    # that decide the action) and the published doctrine that labels it.
    pair: str | None = Field(default=None, min_length=1, max_length=64)
    doctrine: str | None = None

    @property
    def unacceptable_ids(self) -> set[str]:
        return {u.id for u in self.unacceptable}


class LabelledScenario(BaseModel):
    scenario: Scenario
    labels: ScenarioLabels


def resolve_suite(suite: str | Path) -> Path:
    """A folder path, or a suite name under `evals/suites/` (`bundled`)."""
    p = Path(suite)
    if p.is_dir():
        return p
    named = SUITES_DIR / str(suite)
    if named.is_dir():
        return named
    known = []
    if SUITES_DIR.is_dir():
        known = sorted(d.name for d in SUITES_DIR.iterdir() if d.is_dir())
    raise InputError(f"eval suite not found: {suite} (known: {', '.join(known) or 'none'})")


def load_labels(path: Path) -> ScenarioLabels:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return ScenarioLabels.model_validate(data)
    except yaml.YAMLError as err:
        raise InputError(f"{path}: malformed YAML: {err}") from None
    except ValidationError as err:
        raise InputError(describe_validation_error(err, f"{path}: ")) from None


def load_suite(suite: str | Path) -> list[LabelledScenario]:
    """Every `*.yaml` label file in the suite with its scenario, validated against its ids."""
    folder = resolve_suite(suite)
    out = []
    for f in sorted(folder.glob("*.y*ml")):
        labels = load_labels(f)
        sp = Path(labels.scenario)
        if not sp.is_absolute():
            sp = folder / sp if (folder / sp).is_file() else bundled_scenarios_dir() / sp
        scen = load_scenario(sp)
        if scen.id != labels.scenario_id:
            raise InputError(f"{f}: scenario_id {labels.scenario_id} but {sp} has id {scen.id}")
        ids = set(scen.alternative_ids)
        named = [*labels.acceptable, *labels.unacceptable_ids]
        unknown = [i for i in named if i not in ids]
        if unknown:
            raise InputError(f"{f}: unknown alternative '{unknown[0]}' for {scen.id}")
        both = set(labels.acceptable) & labels.unacceptable_ids
        if both:
            raise InputError(f"{f}: {sorted(both)[0]} is both acceptable and unacceptable")
        out.append(LabelledScenario(scenario=scen, labels=labels))
    if not out:
        raise InputError(f"eval suite {folder} has no label files")
    return out
