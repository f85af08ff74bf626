"""The facts doctrine rules read from a scenario: numbers with their units (fire front distance,
flame length, wind in Beaufort, water depth, crowd density, core temperature...), yes/no facts
from cue phrases (`facts.yaml`), and what the HAZMAT reference tables say about the substance.

Only the scenario's own situation is read (name, description, constraints, real-time factors,
HAZMAT block, tags), never its alternatives, so a fact cannot leak from how an option is worded.
Each fact keeps the snippet it came from, for the report.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from crisis_mas.experts.doctrine.quantities import (
    AMBULANCES,
    CASUALTIES,
    GCS,
    MAGNITUDE,
    Facts,
    digits,
    parse_num,
    read_quantities,
)
from crisis_mas.experts.textmatch import find, fold
from crisis_mas.scenario import Scenario

CUES_FILE = Path(__file__).resolve().parent / "facts.yaml"


def _flatten(key: str, value: Any) -> list[str]:
    """A real-time factor as text; a key's unit suffix (`_km`, `_m`, `_s`, `_c`, `_nm`...) is
    written after the value, so `flame_length_m: "15-20"` reads "flame length: 15-20 m"."""
    words = key.replace("_", " ").strip()
    unit = ""
    m = re.search(r" (km|m|s|c|nm|min|h|kmh|ppm|mm)$", words)
    if m:
        words, unit = (
            words[: m.start()],
            {"c": "°C", "kmh": "km/h", "nm": "nautical miles"}.get(m.group(1), m.group(1)),
        )
    if isinstance(value, dict):
        inner = "; ".join(f"{k} {v}{(' ' + unit) if unit else ''}" for k, v in value.items())
        return [f"{words}: {inner}"]
    if isinstance(value, list):
        return [f"{words}: " + "; ".join(str(v) for v in value)]
    text = str(value)
    if unit and re.fullmatch(r"[\d.,\s\-–to]+", text):
        text = f"{text} {unit}"
    return [f"{words}: {text}"]


def situation_text(s: Scenario) -> str:
    """Everything the scenario says about the situation (not its alternatives), one fact a line."""
    c = s.constraints
    lines = [s.name, s.description, f"location: {s.location.region}", "tags: " + ", ".join(s.tags)]
    if c.weather_conditions:
        lines.append(f"weather: {c.weather_conditions}")
    if c.accessibility:
        lines.append(f"access: {c.accessibility}")
    lines += [*c.resource_limitations, *c.additional_concerns]
    for k, v in s.real_time_factors.items():
        lines += _flatten(k, v)
    hz = s.expert_selection.hazmat_specific
    if hz is not None:
        lines += [f"{k}: {v}" for k, v in hz.model_dump(exclude_none=True).items()]
    for k in ("name_greek", "description_greek"):
        extra = getattr(s, k, None)
        if isinstance(extra, str):
            lines.append(extra)
    return "\n".join(x for x in lines if x)


@cache
def _cue_table() -> dict[str, tuple[tuple[str, ...], tuple[tuple[str, ...], ...], bool]]:
    """Fact -> (cues, sentence groups, negation): a fact holds when any cue matches, or when one
    sentence holds a match from every group ("leak|vent|came out" + "stopped|ended")."""
    data = yaml.safe_load(CUES_FILE.read_text(encoding="utf-8"))
    return {
        k: (
            tuple(v.get("cues", ())),
            tuple(tuple(g) for g in v.get("sentence", ())),
            bool(v.get("negation", True)),
        )
        for k, v in data.items()
    }


_SENTENCE = re.compile(r"[^.;!?\n]+")
# A "key: value" line whose value says the thing is absent: "rain upstream: none", «δελτίο: κανένα».
_ABSENT_VALUE = re.compile(
    r"^[^:\n]{1,60}:\s*(none|no|nil|nothing|false|absent|0|-|κανεν\w*|κανεισ|καμια|οχι|δεν \w+)"
    r"\s*(\(.*\))?\s*$"
)


def _line_at(text: str, pos: int) -> tuple[str, int]:
    """The line holding `pos`, and `pos` relative to that line's start."""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start : end if end >= 0 else len(text)], pos - start


def _in_absent_key(text: str, pos: int) -> bool:
    """Whether `pos` lies in the key of a line whose value states absence: the cue names a topic
    ("rain upstream") that the value ("none") denies, so it is no evidence of the fact."""
    line, at = _line_at(text, pos)
    return _ABSENT_VALUE.match(line) is not None and at < line.index(":")


def _fact_text(text: str) -> str:
    """The folded situation text without its tags line: tags name the topic of the scenario (the
    same for a calm and a threatening variant), not a fact on the ground."""
    return "\n".join(x for x in text.split("\n") if not x.startswith("tags:"))


def _sentence_hit(text: str, groups: tuple[tuple[str, ...], ...], negation: bool) -> str | None:
    """The first sentence with an (un-negated) match from every group, if any."""
    if not groups:
        return None
    for m in _SENTENCE.finditer(text):
        sent = m.group(0)
        if negation and _ABSENT_VALUE.match(sent.strip()):
            continue
        if all(find(sent, g, negation) for g in groups):
            return sent
    return None


def _hazmat(s: Scenario, text: str, facts: Facts) -> None:
    """ERG guide numbers, TIH and water reactivity of the scenario's substance(s)."""
    from crisis_mas.safety.hazmat import lookup
    from crisis_mas.safety.hazmat.mentions import find_mentions
    from crisis_mas.safety.hazmat.reference import registry

    found = []
    hz = s.expert_selection.hazmat_specific
    if hz is not None:
        for q in (hz.un_number, hz.chemical):
            if q and (f := lookup(q)) is not None:
                found.append(f)
                break
    if not found:
        reg = registry()
        found = [f for m in find_mentions(text)[:3] if (f := reg.facts(m.target)) is not None]
    guides: set[int] = set()
    for f in found:
        for e in f.erg:
            guides.update(e.guides)
            if e.tih:
                facts.set("tih", True, f"{f.name}: TIH (ERG Table 1)")
            if e.table2:
                facts.set("water_reactive", True, f"{f.name}: ERG Table 2")
            if e.table1 and "isolation_m" not in facts.hazmat:
                iso = (e.table1.get("small_spill") or e.table1).get("isolation", {})
                if "m" in iso:
                    facts.hazmat["isolation_m"] = iso["m"]
        facts.hazmat.setdefault("substance", f.name)
    if hz is not None and getattr(hz, "erg_guide", None):
        digits = re.findall(r"\d{3}", str(hz.erg_guide))
        guides.update(int(d) for d in digits)
    facts.hazmat["guides"] = sorted(guides)
    name = facts.hazmat.get("substance", "the substance")
    for flag, group in (
        ("flammable_gas", range(115, 120)),
        ("toxic_gas", (117, 119, 123, 124, 125)),
        ("gas_release", range(115, 127)),
        ("water_reactive", (137, 138, 139, 144)),
        ("corrosive_vapour", (125, 132, 137, 153, 154, 156, 157)),
    ):
        hit = sorted(g for g in guides if g in group)
        if hit:
            facts.set(flag, True, f"{name}: ERG guide {', '.join(map(str, hit))}")
    if facts.get("tih"):
        facts.set("toxic_gas", True, f"{name}: TIH")


# A stated fact that cancels a weaker cue read elsewhere in the text: the official "no tsunami
# threat" cancels a bare mention of the warning centre, a fire burning somewhere cancels "the tank
# is not yet burning", and "no serious injuries" cancels a severity word read from its label.
_CANCELS = (
    ("no_tsunami_threat", "tsunami_warning"),
    ("fire_involved", "no_fire"),
    ("no_severe_injuries", "severe_trauma"),
    ("no_heat_symptoms", "altered_mental"),
    ("position_unknown", "position_known"),
)


def _overrides(facts: Facts) -> None:
    for stronger, weaker in _CANCELS:
        if facts.get(stronger):
            facts.values.pop(weaker, None)
            facts.evidence.pop(weaker, None)


def extract_facts(s: Scenario) -> Facts:
    """All facts the rules can read from one scenario."""
    from crisis_mas.experts.catalogue import families_of

    text = digits(fold(situation_text(s)))
    facts = Facts()
    read_quantities(text, facts)
    for m in MAGNITUDE.finditer(text):
        facts.set("magnitude", parse_num(m.group(1) or m.group(2) or m.group(3)), m.group(0))
    amb = [int(m.group(1) or m.group(2)) for m in AMBULANCES.finditer(text)]
    if amb:
        facts.set("ambulances", float(max(amb)), "ambulances on scene")
    if s.casualties:
        facts.set("casualties", float(s.casualties), f"casualties: {s.casualties}")
    for m in CASUALTIES.finditer(text):
        facts.set("casualties", float(m.group(1) or m.group(2)), m.group(0))
    ftext = _fact_text(text)
    for name, (cues, groups, negation) in _cue_table().items():
        hits = [
            h
            for h in find(ftext, cues, negation)
            if not negation or not _in_absent_key(ftext, h.start())
        ]
        if hits:
            h = hits[0]
            facts.set(name, True, ftext[max(0, h.start() - 40) : h.end() + 40])
        elif (sent := _sentence_hit(ftext, groups, negation)) is not None:
            facts.set(name, True, sent)
    gcs = [int(m.group(1)) for m in GCS.finditer(text) if 3 <= int(m.group(1)) <= 15]
    if gcs:
        facts.set("gcs", float(min(gcs)), "lowest GCS reported", "min")
    _overrides(facts)
    if facts.get("water_reactive_text"):
        facts.set("water_reactive", True, facts.evidence["water_reactive_text"])
    sz, fl = facts.get("safety_zone_m"), facts.get("flame_length_m")
    if isinstance(sz, float) and isinstance(fl, float) and fl > 0:
        facts.set("safety_zone_flame_ratio", round(sz / fl, 2), "safety zone / flame length")
    amb_n, cas_n = facts.get("ambulances"), facts.get("casualties")
    if isinstance(amb_n, float) and isinstance(cas_n, float) and amb_n > 0:
        facts.set("casualties_per_ambulance", round(cas_n / amb_n, 2), "casualties / ambulances")
    if "hazmat" in families_of(s):
        _hazmat(s, text, facts)
    return facts
