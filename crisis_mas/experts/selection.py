"""Chooses which experts a scenario calls for, from its type and content (not all, every time)."""

from __future__ import annotations

import re

from pydantic import BaseModel

from crisis_mas.experts.profiles import ExpertProfile, get_profiles, load_profiles
from crisis_mas.scenario import Scenario


class Selection(BaseModel):
    expert_id: str
    relevance: float  # 1.0 = called for by the scenario type; lower = by content cues only
    reason: str


def _scenario_text(s: Scenario) -> str:
    es = s.expert_selection
    parts = [s.type, s.name, s.description, " ".join(s.tags), es.crisis_type or ""]
    parts += es.crisis_subtypes + es.affected_domains + s.constraints.additional_concerns
    return " ".join(parts).lower()


def _keyword_hits(profile: ExpertProfile, text: str) -> list[str]:
    hits = []
    for kw in profile.keywords:
        if re.search(r"(?<!\w)" + re.escape(kw.lower()), text):
            hits.append(kw)
    return hits


def select_experts(
    scenario: Scenario, override: list[str] | None = None, min_keyword_hits: int = 2
) -> list[Selection]:
    """Experts whose crisis_types include the scenario type, plus those with enough content cues.

    `override` (the user's `--experts`) wins; unknown ids raise InputError.
    """
    if override:
        return [
            Selection(expert_id=p.id, relevance=1.0, reason="chosen by the user")
            for p in get_profiles(override)
        ]
    text = _scenario_text(scenario)
    types = {scenario.type.lower(), (scenario.expert_selection.crisis_type or "").lower()} - {""}
    out = []
    for p in load_profiles().values():
        matched = types & {t.lower() for t in p.crisis_types}
        hits = _keyword_hits(p, text)
        if matched:
            out.append(
                Selection(expert_id=p.id, relevance=1.0, reason=f"handles {sorted(matched)[0]}")
            )
        elif len(hits) >= min_keyword_hits:
            rel = min(0.9, 0.5 + 0.1 * len(hits))
            out.append(
                Selection(expert_id=p.id, relevance=rel, reason="cues: " + ", ".join(hits[:4]))
            )
    if not out:  # nothing matched: fall back to the three core commanders
        core = [i for i in ("fire", "police", "medical") if i in load_profiles()]
        out = [Selection(expert_id=i, relevance=0.5, reason="default core roster") for i in core]
    return out
