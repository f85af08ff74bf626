"""Quantities in a scenario's situation text: numbers with units (English and Greek, number
words included), each owned by the fact whose cue phrase is nearest it (fire-front distance,
time to impact, flame length, water depth, wind in Beaufort, ...)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from crisis_mas.experts.textmatch import find

FactValue = float | bool


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


_NUM = r"(\d+(?:[.,]\d+)?)"
_RANGE = _NUM + r"(?:[ \t]*(?:-|to|εωσ|και)[ \t]*" + _NUM + r")?"
# unit -> (dimension, factor to the canonical unit: m, minutes, °C, persons/m², Beaufort, nm)
_UNITS: list[tuple[str, str, float]] = [
    (r"nautical miles?|nmi?\b|ναυτικ\w* μιλι\w*", "sea_distance", 1.0),
    (r"km/h|kph|χλμ/ω", "speed_kmh", 1.0),
    (r"m/s\b", "speed_ms", 1.0),
    (
        r"(?:persons?|people|ατομα|ανθρωπ\w*)\s*(?:per|/|ανα|a|in each)\s*"
        r"(?:square met\w*|sq\.? ?m\b|m2|m²|τ\.?μ\.?|τετραγωνικ\w* μετρ\w*)",
        "density",
        1.0,
    ),
    (r"beaufort|bft\b|μποφορ", "beaufort", 1.0),
    (r"kilomet\w*|km\b|χλμ\b|χιλιομετρ\w*", "length", 1000.0),
    (r"cm\b|εκατοστ\w*", "length", 0.01),
    (r"ft\b|feet|foot", "length", 0.3048),
    (r"metres?\b|meters?\b|m\b|μετρ\w*|μ\b", "length", 1.0),
    (r"hours?\b|hrs?\b|h\b|ωρ\w*", "time", 60.0),
    (r"minutes?\b|mins?\b|λεπτ\w*", "time", 1.0),
    (r"seconds?\b|secs?\b|s\b|δευτερολεπτ\w*", "time", 1 / 60),
    (r"°\s?c\b|degrees? c\w*|βαθμ\w* κελσιου|c\b", "temperature", 1.0),
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
        (
            "fire front",
            "front\\b",
            "(fire|blaze|wildfire) (is|are|was|lies|has reached|remains)( still| now)?",
            "μετωπ\\w*",
            "φωτια (απεχει|βρισκεται|ειναι)",
        ),
        (
            "from the (first |nearest )?(houses|homes|village|town|settlement)",
            "away from the (houses|homes|village|town|settlement)",
        ),
        "min",
        0.001,
    ),
    _NumberFact(
        "flame_length_m", "length", ("flame\\w*", "φλογ\\w*"), ("(long|high|tall)\\b",), window=40
    ),
    _NumberFact(
        "safety_zone_m",
        "length",
        ("safety zones?( is| of| about| only| measures)*", "ζωνη ασφαλειασ"),
        ("(wide|across|in diameter|radius)",),
        "min",
        window=40,
    ),
    _NumberFact("spotting_m", "length", ("spot\\w*", "embers?", "καυτρ\\w*"), window=50),
    _NumberFact(
        "water_depth_m",
        "length",
        (
            "(streets?|roads?|houses|homes|fields|cars|area|village|town|quarter|plain)"
            " (are |is |lie |lay |now )?(\\w+ )?under",
            "depth",
            "deep",
            "βαθοσ",
            "water (is|of)",
        ),
        ("of (\\w+[- ])*water", "deep"),
        window=30,
    ),
    _NumberFact(
        "distance_bank_m",
        "length",
        ("distance from bank",),
        (
            "from the (nearest |river |torrent )?(bank|shore|edge)",
            "from (the )?dry (ground|land)",
            "απο την οχθη",
        ),
        "min",
    ),
    _NumberFact(
        "distance_coast_nm",
        "sea_distance",
        ("distance to (the )?coast",),
        ("(off|from|south|north|east|west)",),
        "min",
    ),
    # "40 km offshore", "12 km off the coast": the same distance written in kilometres.
    _NumberFact(
        "distance_coast_nm",
        "length",
        ("distance (to|from) (the )?(coast|nearest land)",),
        ("(offshore|off the (coast|island|mainland)|from the (coast|nearest land|mainland))",),
        "min",
        1 / 1852,
        window=20,
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
            "αναμεν\\w*",
            "κορυφ\\w*",
            "εντοσ",
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
    _NumberFact(
        "indoor_temp_c",
        "temperature",
        (
            "(indoor|room|ward) temperatures?",
            "temperatures? (inside|indoors|in the (rooms|wards|flats|home))",
            "θερμοκρασια (θαλαμων|δωματιων|στουσ θαλαμουσ|στα δωματια|εσωτερικ\\w*)",
        ),
        window=30,
    ),
    _NumberFact("density_ppm2", "density"),
    _NumberFact("wind_bft", "beaufort"),
)
# "GCS 7", "Glasgow Coma Scale 13", "GCS: 15": the lowest score the text reports.
GCS = re.compile(
    r"(?:\bgcs|glasgow(?: coma)?(?: scale)?|γλασκωβη)\W{0,3}(?:score\W{0,2})?(\d{1,2})\b"
)
MAGNITUDE = re.compile(
    r"(?:magnitude (?:of )?|μεγεθουσ )(\d(?:[.,]\d)?)\b|\bmw? ?(\d[.,]\d)\b"
    r"|(\d[.,]\d)\s*(?:richter|ριχτερ)"
)
# Within one line: "3 ambulances are on scene", "ambulances on scene: 3".
AMBULANCES = re.compile(
    r"(\d+)[ \t]+(?:\w+[ \t]+){0,2}(?:ambulances?|ασθενοφορ\w*)"
    r"|(?:ambulances?|ασθενοφορ\w*)[^\n.;:]{0,25}:[ \t]*(\d+)"
)
# "35 injured", "28 τραυματίες", "injured 9 people": how many casualties the text reports.
CASUALTIES = re.compile(
    r"(\d+)[ \t]+(?:\w+[ \t]+){0,2}(?:injured|casualties|wounded|patients|hurt|τραυματι\w*)\b"
    r"|(?:injur\w*|hurt|wound\w*|τραυματισ\w*)[ \t]+(\d+)[ \t]+(?:people|persons|passengers|"
    r"workers|pilgrims|fans|spectators|ατομα|επιβατ\w*|εργαζομεν\w*)"
)
_WIND_SPEED_CUE = re.compile(r"(wind|gust|ανεμ|ριπ)\w*[^.;]{0,30}$")


def parse_num(s: str) -> float:
    if "," in s and re.fullmatch(r"\d{1,3},\d{3}", s):
        return float(s.replace(",", ""))
    return float(s.replace(",", "."))


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


def read_quantities(text: str, facts: Facts) -> None:
    """Set every number fact the text states (its unit converted, the nearest cue owning it)."""
    for m in _QTY.finditer(text):
        dim, factor = _unit(m.group(3))
        tail = text[m.end() : m.end() + 16]
        if re.match(r"\s*(?:per|/|an?)\s*(?:hour|minute|h\b|min\b)|\s*(?:ago|earlier)\b", tail):
            continue  # a rate ("2 km per hour") or a time past ("20 minutes ago"), not a state
        lo = parse_num(m.group(1))
        hi = parse_num(m.group(2)) if m.group(2) else lo
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


def digits(text: str) -> str:
    """Number words before a unit as digits ("five hours" -> "5 hours"; "half an hour" -> 30)."""
    text = re.sub(r"\bhalf an hour\b", "30 minutes", text)
    text = re.sub(r"\ban hour\b", "1 hour", text)
    return _WORD_RE.sub(lambda m: _WORDS[m.group(1)], text)
