"""Scenarios for people writing them: `GET /v1/scenarios` (the bundled ones),
`GET /v1/scenarios/{name}`, `GET /v1/scenarios/schema` (JSON Schema) and
`POST /v1/scenarios/validate` (every bad field by its path, warnings for undefined fields)."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from crisis_mas.scenario_validation import ScenarioCheck, bundled, check_data, check_text
from crisis_mas.service.errors import ApiError


class ValidateRequest(BaseModel):
    """A scenario as an object, or as JSON/YAML text (pasted or uploaded)."""

    model_config = ConfigDict(extra="forbid")

    scenario: Any = Field(default=None, description="The scenario object")
    text: str | None = Field(default=None, description="Or its JSON/YAML text")
    format: Literal["json", "yaml"] | None = Field(
        default=None, description="Format of `text` (default: guessed)"
    )

    @model_validator(mode="after")
    def _one_of(self) -> ValidateRequest:
        if (self.scenario is None) == (self.text is None):
            raise ValueError("give exactly one of scenario or text")
        return self


def scenarios_router() -> APIRouter:
    router = APIRouter()

    @router.get("/v1/scenarios", summary="The bundled scenarios")
    async def list_scenarios() -> dict[str, Any]:
        return {"scenarios": await asyncio.to_thread(bundled)}

    @router.get("/v1/scenarios/schema", summary="JSON Schema of the scenario format")
    async def schema() -> dict[str, Any]:
        from crisis_mas.scenario_validation import scenario_schema

        return scenario_schema()

    @router.post(
        "/v1/scenarios/validate",
        response_model=ScenarioCheck,
        summary="Check a scenario: all errors by field, warnings for undefined fields",
    )
    async def validate(body: ValidateRequest) -> ScenarioCheck:
        if body.text is not None:
            return check_text(body.text, body.format)
        return check_data(body.scenario)

    @router.get("/v1/scenarios/{name}", summary="One bundled scenario (its JSON)")
    async def get_scenario(name: str) -> dict[str, Any]:
        import json

        from crisis_mas.scenario import bundled_scenarios_dir

        known = {s["name"] for s in bundled()}
        if name not in known:
            raise ApiError(
                404,
                f"no bundled scenario '{name}' (known: {', '.join(sorted(known))})",
                "not_found",
                "name",
            )
        path = bundled_scenarios_dir() / f"{name}.json"
        return json.loads(path.read_text(encoding="utf-8"))

    return router
