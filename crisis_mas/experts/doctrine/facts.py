"""The facts doctrine rules read from a scenario: numbers with their units (fire front distance,
flame length, wind in Beaufort, water depth, crowd density, core temperature...), yes/no facts
from cue phrases (`facts.yaml`), and what the HAZMAT reference tables say about the substance.

Only the scenario's own situation is read (name, description, constraints, real-time factors,
HAZMAT block, tags), never its alternatives, so a fact cannot leak from how an option is worded.
Each fact keeps the snippet it came from, for the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from crisis_mas.experts.textmatch import find, fold
from crisis_mas.scenario import Scenario

CUES_FILE = Path(__file__).resolve().parent / "facts.yaml"
FactValue = float | bool

_NUM = r"(\d+(?:[.,]\d+)?)"
_RANGE = _NUM + r"(?:[ \t]*(?:-|to|εωσ|και)[ \t]*" + _NUM + r")?"
# unit -> (dimension, factor to the canonical unit: m, minutes, °C, persons/m², Beaufort, nm)
_UNITS: list[tuple[str, str, float]] = [
    (r"nautical miles?|nmi?\b|ναυτικ\w* μιλι\w*", "sea_distance", 1.0),
    (r"km/h|kph|χλμ/ω", "speed_kmh", 1.0),
    (r"m/s\b", "speed_ms", 1.0),
    (r"persons?\s*(?:per|/|ανα)\s*(?:square met\w*|m2|m²|τ\.?μ\.?)", "density", 1.0),
    (r"(?:people|ατομα)\s*(?:per|/|ανα)\s*(?:square met\w*|m2|m²|τ\.?μ\.?)", "density", 1.0),
    (r"beaufort|bft\b|μποφορ", "beaufort", 1.0),
    (r"kilomet\w*|km\b|χλμ\b|χιλιομετρ\w*", "length", 1000.0),
    (r"cm\b|εκατοστ\w*", "length", 0.01),
    (r"ft\b|feet|foot", "length", 0.3048),
    (r"metres?\b|meters?\b|m\b|μετρ\w*|μ\b", "length", 1.0),
    (r"hours?\b|hrs?\b|h\b|ωρ\w*", "time", 60.0),
    (r"minutes?\b|mins?\b|λεπτ\w*", "time", 1.0),
    (r"seconds?\b|secs?\b|s\b|δευτερολεπτ\w*", "time", 1 / 60),
    (r"°\s?c\b|degrees? c\w*|βαθμ\w* κελσιου", "temperature", 1.0),
]
_QTY = re.compile(_RANGE + r"[ \t]*(" + "|".join(u for u, _, _ in _UNITS) + r")")
_UNIT_RES = [(re.compile(u), d, f) for u, d, f in _UNITS]


@dataclass(frozen=True)
class _NumberFact:
    """A quantity of one dimension with a cue just before it (or just after), reduced by agg."""

    name: str
    dimension: str
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    agg: str = "max"  # max | min
    scale: float = 1.0  # canonical unit -> the fact's unit (e.g. m -> km: 0.001)
    window: int = 70


_NUMBER_FACTS = (
    _NumberFact(
        "front_distance_km",
        "length",
        ("fire front", "front\\b", "fire (is|was|lies|has reached)", "μετωπ\\w*"),
        ("from the (first |nearest )?(houses|homes|village|town|settlement)",),
        "min",
        0.001,
    ),
    _NumberFact("flame_length_m", "length", ("flame\\w*", "φλογ\\w*"), window=40),
    _NumberFact("spotting_m", "length", ("spot\\w*", "embers?", "καυτρ\\w*"), window=50),
    _NumberFact(
        "water_depth_m",
        "length",
        ("under", "depth", "deep", "βαθοσ", "water (is|of)"),
        ("of (\\w+[- ])*water", "deep"),
        window=30,
    ),
    _NumberFact(
        "distance_bank_m",
        "length",
        ("distance from bank",),
        ("from the (nearest |river |torrent )?(bank|shore|edge)", "απο την οχθη"),
        "min",
    ),
    _NumberFact(
        "distance_coast_nm",
        "sea_distance",
        ("distance to (the )?coast",),
        ("(off|from|south|north|east|west)",),
        "min",
    ),
    _NumberFact(
        "time_to_impact_min",
        "time",
        (
            "reach\\w*",
            "arriv\\w*",
            "expected",
            "overtop\\w*",
            "impact",
            "hit",
            "warn\\w*",
            "crest",
            "peak",
            "due",
            "φτασ\\w*",
        ),
        agg="min",
        window=80,
    ),
    _NumberFact("shaking_duration_s", "time", ("shaking", "lasted", "δονησ\\w*"), scale=60.0),
    _NumberFact(
        "core_temp_c",
        "temperature",
        ("(rectal|core|body|tympanic) temperature", "(his|her|their) temperature"),
        window=30,
    ),
    _NumberFact("density_ppm2", "density"),
    _NumberFact("wind_bft", "beaufort"),
)
_MAGNITUDE = re.compile(
    r"(?:magnitude (?:of )?|μεγεθουσ )(\d(?:[.,]\d)?)\b|\bmw? ?(\d[.,]\d)\b"
    r"|(\d[.,]\d)\s*(?:richter|ριχτερ)"
)
# Within one line: "3 ambulances are on scene", "ambulances on scene: 3".
_AMBULANCES = re.compile(
    r"(\d+)[ \t]+(?:\w+[ \t]+){0,2}(?:ambulances?|ασθενοφορ\w*)"
    r"|(?:ambulances?|ασθενοφορ\w*)[^\n.;:]{0,25}:[ \t]*(\d+)"
)
_WIND_SPEED_CUE = re.compile(r"(wind|gust|ανεμ|ριπ)\w*[^.;]{0,30}$")


@dataclass
class Facts:
    """Facts by name (numbers in the fact's unit, or True), each with the snippet it came from."""

    values: dict[str, FactValue] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)
    hazmat: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> FactValue | None:
        return self.values.get(name)

    def set(self, name: str, value: FactValue, snippet: str, agg: str = "max") -> None:
        old = self.values.get(name)
        if (
            isinstance(old, (int, float))
            and not isinstance(old, bool)
            and not isinstance(value, bool)
        ):
            keep_old = old >= value if agg == "max" else old <= value
            if keep_old:
                return
        self.values[name] = value
        self.evidence[name] = snippet.strip()[:160]


def _num(s: str) -> float:
    if "," in s and re.fullmatch(r"\d{1,3},\d{3}", s):
        return float(s.replace(",", ""))
    return float(s.replace(",", "."))


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


def _sentence_hit(text: str, groups: tuple[tuple[str, ...], ...], negation: bool) -> str | None:
    """The first sentence with an (un-negated) match from every group, if any."""
    if not groups:
        return None
    for m in _SENTENCE.finditer(text):
        sent = m.group(0)
        if all(find(sent, g, negation) for g in groups):
            return sent
    return None


def _unit(raw: str) -> tuple[str, float]:
    for rx, dim, factor in _UNIT_RES:
        if rx.fullmatch(raw):
            return dim, factor
    return "", 1.0


def _cue_distance(spec: _NumberFact, before: str, after: str) -> int | None:
    """How close the spec's nearest cue is to the quantity (0 = the unit alone names it)."""
    if not spec.before and not spec.after:
        return 0
    best = None
    for h in find(before, spec.before, negation=False):
        d = len(before) - h.end()
        best = d if best is None else min(best, d)
    for h in find(after, spec.after, negation=False):
        best = h.start() if best is None else min(best, h.start())
    return best


def _numbers(text: str, facts: Facts) -> None:
    for m in _QTY.finditer(text):
        dim, factor = _unit(m.group(3))
        tail = text[m.end() : m.end() + 16]
        if re.match(r"\s*(?:per|/|an?)\s*(?:hour|minute|h\b|min\b)|\s*(?:ago|earlier)\b", tail):
            continue  # a rate ("2 km per hour") or a time past ("20 minutes ago"), not a state
        lo = _num(m.group(1))
        hi = _num(m.group(2)) if m.group(2) else lo
        line_start = text.rfind("\n", 0, m.start()) + 1
        after = text[m.end() : m.end() + 60].split("\n")[0]
        scored = []
        for spec in _NUMBER_FACTS:
            if spec.dimension != dim:
                continue
            before = text[max(line_start, m.start() - spec.window) : m.start()]
            before = before[before.rfind(". ") + 1 :]  # the quantity's own sentence
            d = _cue_distance(spec, before, after)
            if d is not None:
                scored.append((d, spec))
        if scored:  # the fact whose cue is nearest the quantity owns it
            spec = min(scored, key=lambda x: x[0])[1]
            value = (hi if spec.agg == "max" else lo) * factor * spec.scale
            facts.set(spec.name, round(value, 3), text[line_start : m.end() + 20], spec.agg)
        if dim == "speed_kmh" and _WIND_SPEED_CUE.search(text[max(0, m.start() - 40) : m.start()]):
            facts.set("wind_bft", _beaufort(hi), text[line_start : m.end()], "max")
        if dim == "speed_ms" and _WIND_SPEED_CUE.search(text[max(0, m.start() - 40) : m.start()]):
            facts.set("wind_bft", _beaufort(hi * 3.6), text[line_start : m.end()], "max")


def _beaufort(kmh: float) -> float:
    limits = (1, 6, 12, 20, 29, 39, 50, 62, 75, 89, 103, 118)
    return float(next((i for i, lim in enumerate(limits) if kmh < lim), 12))


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


_WORDS = {
    w: str(i)
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "ninety": "90"}
_WORD_RE = re.compile(
    r"\b(" + "|".join(_WORDS) + r")\b(?=[ -](?:\w+[ -])?(?:minutes?|hours?|seconds?|"
    r"metres?|meters?|kilomet\w*|km|m|nautical|persons?|people))"
)


def _digits(text: str) -> str:
    """Number words before a unit as digits ("five hours" -> "5 hours"; "half an hour" -> 30)."""
    text = re.sub(r"\bhalf an hour\b", "30 minutes", text)
    text = re.sub(r"\ban hour\b", "1 hour", text)
    return _WORD_RE.sub(lambda m: _WORDS[m.group(1)], text)


def extract_facts(s: Scenario) -> Facts:
    """All facts the rules can read from one scenario."""
    from crisis_mas.experts.catalogue import families_of

    text = _digits(fold(situation_text(s)))
    facts = Facts()
    _numbers(text, facts)
    for m in _MAGNITUDE.finditer(text):
        facts.set("magnitude", _num(m.group(1) or m.group(2) or m.group(3)), m.group(0))
    amb = [int(m.group(1) or m.group(2)) for m in _AMBULANCES.finditer(text)]
    if amb:
        facts.set("ambulances", float(max(amb)), "ambulances on scene")
    if s.casualties:
        facts.set("casualties", float(s.casualties), f"casualties: {s.casualties}")
    for name, (cues, groups, negation) in _cue_table().items():
        hits = find(text, cues, negation)
        if hits:
            h = hits[0]
            facts.set(name, True, text[max(0, h.start() - 40) : h.end() + 40])
        elif (sent := _sentence_hit(text, groups, negation)) is not None:
            facts.set(name, True, sent)
    if facts.get("water_reactive_text"):
        facts.set("water_reactive", True, facts.evidence["water_reactive_text"])
    amb_n, cas_n = facts.get("ambulances"), facts.get("casualties")
    if isinstance(amb_n, float) and isinstance(cas_n, float) and amb_n > 0:
        facts.set("casualties_per_ambulance", round(cas_n / amb_n, 2), "casualties / ambulances")
    if "hazmat" in families_of(s):
        _hazmat(s, text, facts)
    return facts
