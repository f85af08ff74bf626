"""Doctrine as an evidence source: published rules applied to a scenario's facts.

`doctrine_evidence(scenario)` reads the facts (`facts.py`), recognises which catalogue actions
each alternative carries out (by cue, else by meaning: `crisis_mas.experts.catalogue.semantic`),
fires the rules whose conditions hold (`rules.yaml`, plus START triage for "who goes first"
alternatives) and turns the net support into beliefs over the alternatives. It is one more
evidence source for the coordinator, shown in the decision as "doctrine (rules)", never disguised
as a model's answer. It is invariant to the order alternatives are listed in, and says nothing (no
evidence) when no rule separates them.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from crisis_mas.errors import InputError
from crisis_mas.experts.catalogue import families_of, load_catalogue
from crisis_mas.experts.catalogue.semantic import DEFAULT as SEMANTIC_DEFAULT
from crisis_mas.experts.catalogue.semantic import (
    SemanticMatch,
    match_by_cue_or_meaning,
    share_between_parallel,
)
from crisis_mas.experts.doctrine.facts import Facts, extract_facts, situation_text
from crisis_mas.experts.doctrine.triage import PRIORITY, SOURCE, start_priorities
from crisis_mas.experts.textmatch import fold
from crisis_mas.scenario import Scenario

RULES_FILE = Path(__file__).resolve().parent / "rules.yaml"
_COND = re.compile(r"^(!)?([a-z_0-9]+)(?:\s*(>=|<=|>|<|==)\s*(-?\d+(?:\.\d+)?))?$")


def _check(cond: str) -> str:
    if not _COND.match(cond.strip()):
        raise ValueError(f"bad condition '{cond}' (fact, !fact or fact <op> number)")
    return cond.strip()


class Rule(BaseModel):
    """One published rule: when its conditions hold, it favours and opposes catalogue actions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    families: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    favour: dict[str, float] = Field(default_factory=dict)
    oppose: dict[str, float] = Field(default_factory=dict)
    says: str = Field(min_length=10)
    source: str = Field(min_length=10)

    @field_validator("all", "any", "none")
    @classmethod
    def _conds(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check(c) for c in v)

    def holds(self, facts: Facts) -> bool:
        ok_all = all(_holds(c, facts) for c in self.all)
        ok_any = not self.any or any(_holds(c, facts) for c in self.any)
        return ok_all and ok_any and not any(_holds(c, facts) for c in self.none)

    def effect(self, actions: list[str]) -> float:
        """Strongest favoured action minus strongest opposed one, among an alternative's."""
        fav = max((w for a, w in self.favour.items() if a in actions), default=0.0)
        opp = max((w for a, w in self.oppose.items() if a in actions), default=0.0)
        return fav - opp


def _holds(cond: str, facts: Facts) -> bool:
    m = _COND.match(cond)
    assert m is not None  # validated on load
    neg, name, op, num = m.groups()
    v = facts.get(name)
    if op is None:
        truth = bool(v)
    elif isinstance(v, bool) or v is None:
        truth = False
    else:
        x = float(num)
        truth = {">=": v >= x, "<=": v <= x, ">": v > x, "<": v < x, "==": v == x}[op]
    return truth != bool(neg)


@cache
def load_rules(path: Path = RULES_FILE) -> tuple[Rule, ...]:
    """The rule book, with every action id checked against the catalogue."""
    rules = tuple(Rule.model_validate(r) for r in yaml.safe_load(path.read_text("utf-8")))
    known = load_catalogue()
    for r in rules:
        unknown = [a for a in [*r.favour, *r.oppose] if a not in known]
        if unknown:
            raise InputError(f"{path}: rule {r.id} names unknown action '{unknown[0]}'")
    return rules


class RuleHit(BaseModel):
    """A rule that fired, what it says, its source and its effect on each alternative."""

    rule_id: str
    says: str
    source: str
    effects: dict[str, float]


class DoctrineEvidence(BaseModel):
    """Rule-based beliefs over a scenario's alternatives, with the reasons."""

    kind: Literal["doctrine"] = "doctrine"
    beliefs: dict[str, float] = Field(default_factory=dict)
    support: dict[str, float] = Field(default_factory=dict)
    actions: dict[str, list[str]] = Field(default_factory=dict)
    rules: list[RuleHit] = Field(default_factory=list)
    facts: dict[str, float | bool] = Field(default_factory=dict)

    @property
    def informative(self) -> bool:
        """Whether the rules separate the alternatives at all."""
        return len(set(self.support.values())) > 1

    @property
    def recommended(self) -> str | None:
        """The alternative with the most support; none when the rules are silent, or when the
        best support is shared by alternatives carrying the same actions (the rules cannot tell
        them apart: only the order their ids sort in would)."""
        if not self.informative:
            return None
        best = max(self.support.values())
        tied = [
            tuple(sorted(self.actions.get(i, []))) for i, v in self.support.items() if v == best
        ]
        if len(tied) != len(set(tied)):
            return None
        return max(sorted(self.beliefs), key=self.beliefs.__getitem__)

    def summary(self, names: dict[str, str] | None = None, limit: int = 3) -> str:
        """One line for the decision: which rules fired and for what."""
        if not self.informative:
            return "no doctrine rule separates the alternatives"
        parts = []
        for h in sorted(self.rules, key=lambda h: -max(abs(e) for e in h.effects.values()))[:limit]:
            best = max(sorted(h.effects), key=h.effects.__getitem__)
            verb = "favours" if h.effects[best] > 0 else "opposes"
            target = best if h.effects[best] > 0 else min(sorted(h.effects), key=h.effects.get)
            label = (names or {}).get(target, target)
            parts.append(f"{h.says} ({h.source}) {verb} {label}")
        return "; ".join(parts)


def doctrine_evidence(
    scenario: Scenario,
    temperature: float = 1.0,
    semantic: SemanticMatch | None = SEMANTIC_DEFAULT,
) -> DoctrineEvidence:
    """Apply the rule book (and START triage) to the scenario; beliefs = softmax(support / T).
    An alternative's actions are its cue matches, else its semantic match (`semantic`; None:
    cues only)."""
    ids = sorted(scenario.alternative_ids)
    facts = extract_facts(scenario)
    families = families_of(scenario)
    actions = {
        a.id: match_by_cue_or_meaning(a, families, semantic) for a in scenario.available_actions
    }
    if semantic is not None:
        actions = share_between_parallel(scenario.available_actions, actions, families, semantic)
    support = dict.fromkeys(ids, 0.0)
    hits: list[RuleHit] = []
    for rule in load_rules():
        if rule.families and not set(rule.families) & families:
            continue
        if not rule.holds(facts):
            continue
        effects = {i: rule.effect(actions[i]) for i in ids}
        if any(effects.values()):
            hits.append(
                RuleHit(rule_id=rule.id, says=rule.says, source=rule.source, effects=effects)
            )
            for i, e in effects.items():
                support[i] += e
    start = start_priorities(scenario, fold(situation_text(scenario)).split("\n"))
    if len(start) >= 2:
        top = max(PRIORITY[c] for _, c in start.values())
        effects = {
            i: (
                2.0
                if PRIORITY[c] == top
                else -2.0
                if c == "black"
                else -1.0
                if c == "green"
                else 0.0
            )
            if i in start
            else 0.0
            for i, (_, c) in ((i, start.get(i, ("", "yellow"))) for i in ids)
        }
        colours = ", ".join(f"{lab} {c}" for lab, c in start.values())
        hits.append(
            RuleHit(
                rule_id="start_triage",
                says=f"START colours ({colours}): the most urgent casualty goes first",
                source=SOURCE,
                effects=effects,
            )
        )
        for i, e in effects.items():
            support[i] += e
    exps = [math.exp(support[i] / temperature) for i in ids]
    z = sum(exps)
    return DoctrineEvidence(
        beliefs={i: e / z for i, e in zip(ids, exps, strict=True)},
        support=support,
        actions=actions,
        rules=hits,
        facts=dict(facts.values),
    )
