"""Scenario checks for people writing scenarios (`crisis-mas scenarios validate`, the console):
every bad field at once, each named by its path, plus a warning for every field the format does
not define (kept as given, and free-form extras such as `name_greek` are fine, but a misspelt
field is silently not what the author meant). `load_scenario` stops at the first error
instead; this module never raises on bad input.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from crisis_mas.errors import InputError
from crisis_mas.scenario import Scenario
from crisis_mas.textio import parse_json, parse_yaml, read_text_file

Format = Literal["json", "yaml"]


class Problem(BaseModel):
    field: str  # dotted path, e.g. available_actions.2.criteria_scores.safety; "(root)"/"(file)"
    message: str


class ScenarioCheck(BaseModel):
    valid: bool
    errors: list[Problem]
    warnings: list[Problem]
    scenario_id: str | None = None
    scenario: dict[str, Any] | None = None  # the parsed object, when the text parsed


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario format (the same model the loader validates with)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "crisis-mas scenario"
    return schema


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation (`X`, `X | None`, `list[X]`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def unknown_fields(data: Any, model: type[BaseModel] = Scenario, prefix: str = "") -> list[str]:
    """Paths of keys the format does not define, at any depth (free-form dicts are not
    searched)."""
    if not isinstance(data, dict):
        return []
    out = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        info = model.model_fields.get(str(key))
        if info is None:
            out.append(path)
            continue
        for sub in _models_in(info.annotation):
            if isinstance(value, list):
                for i, item in enumerate(value):
                    out += unknown_fields(item, sub, f"{path}.{i}.")
            else:
                out += unknown_fields(value, sub, f"{path}.")
    return list(dict.fromkeys(out))


def check_data(data: Any) -> ScenarioCheck:
    """Validate a decoded object: all errors, and warnings for unknown fields."""
    if not isinstance(data, dict):
        got = type(data).__name__
        return ScenarioCheck(
            valid=False,
            errors=[Problem(field="(root)", message=f"expected an object, got {got}")],
            warnings=[],
        )
    warnings = [
        Problem(field=f, message="not defined by the scenario format (kept as given; spelling?)")
        for f in unknown_fields(data)
    ]
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        errors = [
            Problem(
                field=".".join(str(p) for p in e.get("loc", ())) or "(root)",
                message=str(e.get("msg", "invalid")).removeprefix("Value error, "),
            )
            for e in err.errors()
        ]
        sid = data.get("id") if isinstance(data.get("id"), str) else None
        return ScenarioCheck(
            valid=False, errors=errors, warnings=warnings, scenario_id=sid, scenario=data
        )
    return ScenarioCheck(
        valid=True, errors=[], warnings=warnings, scenario_id=scenario.id, scenario=data
    )


def check_text(text: str, fmt: Format | None = None) -> ScenarioCheck:
    """Parse JSON or YAML (`fmt` None: JSON if it looks like JSON, else YAML), then check."""
    looks_json = text.lstrip().startswith(("{", "["))
    fmt = fmt or ("json" if looks_json else "yaml")
    try:  # bounded: size, depth and YAML alias expansion (crisis_mas.textio)
        data = parse_json(text, fmt) if fmt == "json" else parse_yaml(text, fmt)
    except InputError as err:
        return _unparsable(str(err).removeprefix(f"{fmt}: "))
    return check_data(data)


def check_file(path: Path) -> ScenarioCheck:
    if not path.is_file():
        return _unparsable(f"file not found: {path}")
    fmt: Format = "yaml" if path.suffix.lower() in (".yaml", ".yml") else "json"
    try:
        text = read_text_file(path, "scenario file")
    except InputError as err:
        return _unparsable(str(err))
    return check_text(text, fmt)


def _unparsable(message: str) -> ScenarioCheck:
    return ScenarioCheck(
        valid=False, errors=[Problem(field="(file)", message=message)], warnings=[]
    )


def bundled() -> list[dict[str, Any]]:
    """The bundled scenarios: file name, id, type, name, alternatives, severity."""
    from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

    out = []
    for f in sorted(bundled_scenarios_dir().glob("*.json")):
        s = load_scenario(f)
        out.append(
            {
                "name": f.stem,
                "id": s.id,
                "type": s.type,
                "title": s.name,
                "alternatives": len(s.available_actions),
                "severity": s.severity,
                "affected_population": s.affected_population,
            }
        )
    return out
