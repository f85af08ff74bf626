"""Renders an expert's chat prompt from its profile, the scenario and retrieved passages.

The same renderer builds the LoRA training set, so adapters learn exactly the runtime layout.
Alternatives are always listed in one canonical order (sorted by id), so the order a scenario
happens to list them in cannot reach any prompt, and through it any belief.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from crisis_mas.experts.profiles import ExpertProfile
from crisis_mas.pool.types import ChatMessage
from crisis_mas.scenario import Alternative, Scenario

PROMPTS_FILE = Path(__file__).resolve().parent / "prompts.yaml"


@cache
def templates() -> dict[str, Any]:
    return yaml.safe_load(PROMPTS_FILE.read_text(encoding="utf-8"))


def prompt_version() -> int:
    return int(templates()["version"])


def _risk_text(r: float) -> str:
    if r < 0.34:
        return (
            f"low ({r:.2f}): protect life first, avoid exposing crews or public to avoidable risk"
        )
    if r < 0.67:
        return f"moderate ({r:.2f}): accept measured risk for clear gains"
    return f"high ({r:.2f}): accept significant risk to act fast"


def system_prompt(profile: ExpertProfile) -> str:
    return (
        templates()["system"]
        .format(
            persona_name=profile.persona_name,
            title=profile.title,
            organisation=profile.organisation,
            persona=profile.persona.strip(),
            role=profile.role,
            doctrine="\n".join(f"- {d}" for d in profile.doctrine),
            risk_text=_risk_text(profile.risk_tolerance),
        )
        .strip()
    )


def _fmt_value(v: Any) -> str:
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _details(s: Scenario) -> str:
    lines: list[str] = []
    c = s.constraints
    if c.time_critical:
        lines.append("Time critical: yes")
    if c.weather_conditions:
        lines.append(f"Weather: {c.weather_conditions}")
    if c.accessibility:
        lines.append(f"Access: {c.accessibility}")
    if c.resource_limitations:
        lines.append("Resource limits: " + "; ".join(c.resource_limitations))
    for concern in c.additional_concerns:
        lines.append(f"Concern: {concern}")
    for k, v in s.real_time_factors.items():
        lines.append(f"{k.replace('_', ' ')}: {_fmt_value(v)}")
    hz = s.expert_selection.hazmat_specific
    if hz is not None:
        parts = [f"{k}={v}" for k, v in hz.model_dump(exclude_none=True).items()]
        lines.append("HAZMAT: " + ", ".join(parts))
    return "\n".join(lines)


def ordered_alternatives(s: Scenario) -> list[Alternative]:
    """The scenario's alternatives in the canonical prompt order (by id)."""
    return sorted(s.available_actions, key=lambda a: a.id)


def _alternatives(s: Scenario) -> str:
    rows = []
    for a in ordered_alternatives(s):
        extra = []
        if a.risk_level is not None:
            extra.append(f"risk {a.risk_level:.2f}")
        if a.estimated_duration:
            extra.append(f"duration {a.estimated_duration}")
        tail = f" ({', '.join(extra)})" if extra else ""
        rows.append(f"- {a.id}: {a.name}. {a.description}{tail}")
    return "\n".join(rows)


def references_block(passages: list[dict] | None) -> str:
    """The REFERENCES section of the user message, as it stands there (blank lines dropped)."""
    if not passages:
        return ""
    rows = ["REFERENCES:"]
    for i, p in enumerate(passages, 1):
        rows.append(f"[{i}] {p.get('title', '')}: {p['text']}")
    return "\n".join(line for line in "\n".join(rows).splitlines() if line.strip())


def retrieval_query(scenario: Scenario) -> str:
    """The knowledge-base query for a scenario (each expert's search puts its role before it)."""
    return f"{scenario.type}: {scenario.name}. {scenario.description}"


def user_prompt(scenario: Scenario, passages: list[dict] | None = None) -> str:
    loc = scenario.location
    where = loc.region or "unspecified"
    if loc.coordinates is not None:
        where += f" ({loc.coordinates.lat:.4f}, {loc.coordinates.lon:.4f})"
    text = templates()["user"].format(
        id=scenario.id,
        name=scenario.name,
        type=scenario.type,
        severity=scenario.severity,
        location=where,
        description=scenario.description.strip(),
        affected_population=scenario.affected_population,
        casualties=scenario.casualties,
        infrastructure_damage="yes" if scenario.infrastructure_damage else "no",
        details=_details(scenario),
        references=references_block(passages),
        alternatives=_alternatives(scenario),
    )
    # Empty optional sections leave blank lines behind; drop them.
    return "\n".join(line for line in text.splitlines() if line.strip()).strip()


def assessment_messages(
    profile: ExpertProfile,
    scenario: Scenario,
    passages: list[dict] | None = None,
    correction: str | None = None,
) -> list[ChatMessage]:
    user = user_prompt(scenario, passages)
    if correction:
        user += "\n" + templates()["correction"].format(corrections=correction).strip()
    return [
        ChatMessage(role="system", content=system_prompt(profile)),
        ChatMessage(role="user", content=user),
    ]


def format_assessment(
    rationale: str, key_concerns: list[str], immediate_actions: list[str], recommended: str
) -> str:
    """The assistant answer in the trained format (used for training targets and docs)."""
    lines = [f"Rationale: {rationale.strip()}", "Key concerns:"]
    lines += [f"- {c}" for c in key_concerns]
    lines.append("Immediate actions:")
    lines += [f"- {a}" for a in immediate_actions]
    lines.append(f"{templates()['recommend_prefix']}{recommended}")
    return "\n".join(lines)


def scoring_prefix(answer_text: str) -> str:
    """The assistant text an alternative id is scored after: the expert's own answer, then
    "Recommended:" (the trained format), so scoring continues the generation's KV cache."""
    return answer_text.rstrip() + "\n" + templates()["recommend_prefix"].rstrip()


CONTENT_FREE = "N/A"


def content_free_messages(profile: ExpertProfile, scenario: Scenario) -> list[ChatMessage]:
    """The expert's prompt with every scenario fact replaced by "N/A", alternatives kept: the
    baseline that calibrates away what an alternative's id and place in the list alone are worth
    (contextual calibration, Zhao et al. 2021)."""
    text = templates()["user"].format(
        id=CONTENT_FREE,
        name=CONTENT_FREE,
        type=CONTENT_FREE,
        severity=0.0,
        location=CONTENT_FREE,
        description=CONTENT_FREE,
        affected_population=CONTENT_FREE,
        casualties=CONTENT_FREE,
        infrastructure_damage=CONTENT_FREE,
        details="",
        references="",
        alternatives=_alternatives(scenario),
    )
    user = "\n".join(line for line in text.splitlines() if line.strip()).strip()
    return [
        ChatMessage(role="system", content=system_prompt(profile)),
        ChatMessage(role="user", content=user),
    ]


def content_free_answer() -> str:
    """A content-free answer in the trained format, before "Recommended:"."""
    return format_assessment(CONTENT_FREE, [CONTENT_FREE], [CONTENT_FREE], "").rsplit("\n", 1)[0]
