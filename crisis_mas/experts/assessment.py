"""An expert's typed assessment, the parser for the trained answer format, and belief maths.

Beliefs are valid by construction: they come from the model's log-likelihood of each scenario
alternative id after the expert's own answer (length-normalised, optionally calibrated against a
content-free prompt, softmaxed), never from ids the model writes itself.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import BaseModel, Field

from crisis_mas.experts.catalogue.choice import CatalogueChoice
from crisis_mas.experts.profiles import ExpertProfile
from crisis_mas.scenario import Scenario

Status = Literal["ok", "fallback", "failed"]


class Citation(BaseModel):
    doc_id: str
    chunk_id: str
    title: str


class TokenUsage(BaseModel):
    prompt: int = 0
    completion: int = 0


class Assessment(BaseModel):
    """What one expert concluded; `status` says whether it came from the model or a fallback."""

    expert_id: str
    expert_name: str
    adapter: str | None
    status: Status
    beliefs: dict[str, float] = Field(default_factory=dict)
    confidence: float = 0.0
    recommended: str | None = None
    rationale: str = ""
    key_concerns: list[str] = Field(default_factory=list)
    immediate_actions: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    latency_ms: float = 0.0
    tokens: TokenUsage = Field(default_factory=TokenUsage)
    attempts: int = 0
    cached: bool = False
    fallback_reason: str | None = None
    error: str | None = None
    flags: list[dict] = Field(default_factory=list)
    hazmat_requeried: bool = False
    hazmat_contradicts: bool = False
    raw_text: str = ""
    # Standard actions this expert chose from the doctrine catalogue by constrained decoding.
    catalogue_actions: list[CatalogueChoice] = Field(default_factory=list)


class ParsedAnswer(BaseModel):
    rationale: str
    key_concerns: list[str]
    immediate_actions: list[str]


_LISTS = ("key concerns", "immediate actions")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+\S")
_SECTION = re.compile(
    r"^\s*(rationale|key concerns|immediate actions|recommended)\s*:\s*(.*)$", re.I
)


def parse_answer(text: str) -> ParsedAnswer | None:
    """Parse the trained format; None when a required section is missing or empty."""
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        m = _SECTION.match(line)
        if m:
            current = m.group(1).lower()
            sections.setdefault(current, [])
            if m.group(2).strip():
                sections[current].append(m.group(2).strip())
        elif current in _LISTS and line.strip():
            # List sections hold bullets only; the first other line ends the list (small models
            # ramble on after the format, and that text is not an action or a concern).
            if _BULLET.match(line):
                sections[current].append(line.strip())
            else:
                current = None
        elif current and line.strip():
            sections[current].append(line.strip())

    def items(name: str) -> list[str]:
        out = []
        for raw in sections.get(name, []):
            item = re.sub(r"^[-*•\d.)\s]+", "", raw).strip()
            if item and item.lower() not in (i.lower() for i in out):
                out.append(item)
        return out[:6]

    rationale = " ".join(sections.get("rationale", [])).strip()
    concerns, actions = items("key concerns"), items("immediate actions")
    if len(rationale) < 10 or not concerns or not actions:
        return None
    return ParsedAnswer(rationale=rationale, key_concerns=concerns, immediate_actions=actions)


def softmax(xs: list[float], temperature: float = 1.0) -> list[float]:
    m = max(xs)
    exps = [math.exp((x - m) / temperature) for x in xs]
    z = sum(exps)
    return [e / z for e in exps]


def beliefs_from_logprobs(
    ids: list[str], logprobs: list[float], token_counts: list[int], temperature: float = 1.0
) -> dict[str, float]:
    """Length-normalised log-likelihoods -> a distribution over exactly the given ids."""
    means = [lp / max(n, 1) for lp, n in zip(logprobs, token_counts, strict=True)]
    return dict(zip(ids, softmax(means, temperature), strict=True))


def calibrated_beliefs(
    ids: list[str],
    logprobs: list[float],
    token_counts: list[int],
    baseline: list[float],
    temperature: float = 1.0,
) -> dict[str, float]:
    """Contextual calibration: per-token log-likelihood of each id after the answer minus after
    a content-free prompt (pointwise mutual information with the scenario), softmaxed."""
    pmi = [(lp - b) / max(n, 1) for lp, b, n in zip(logprobs, baseline, token_counts, strict=True)]
    return dict(zip(ids, softmax(pmi, temperature), strict=True))


def top_choice(beliefs: dict[str, float]) -> str | None:
    """The most believed id; exact ties go to the smallest id, never to the listing order."""
    return max(sorted(beliefs), key=beliefs.__getitem__) if beliefs else None


def confidence_of(beliefs: dict[str, float]) -> float:
    """1 - normalised entropy: 0 for a flat distribution, 1 when all mass is on one id."""
    n = len(beliefs)
    if n < 2:
        return 1.0
    h = -sum(p * math.log(p) for p in beliefs.values() if p > 0)
    return max(0.0, min(1.0, 1 - h / math.log(n)))


def doctrine_prior(
    profile: ExpertProfile, scenario: Scenario, temperature: float = 0.1
) -> dict[str, float]:
    """The expert's criteria weights applied to the alternatives' scores (the marked fallback)."""
    w = profile.criteria_weights
    utils = [
        sum(w[c] * v for c, v in zip(w, a.criteria_scores.vector(), strict=True))
        for a in scenario.available_actions
    ]
    return dict(zip(scenario.alternative_ids, softmax(utils, temperature), strict=True))
