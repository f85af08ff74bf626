"""Extract numeric HAZMAT claims from free text (English and Greek).

A claim is a number bound to a property keyword in the same sentence: an IDLH concentration
(ppm, mg/m3), an ERG guide number, an initial isolation distance (m, ft) or a protective-action
distance (km, mi). A bare concentration ("readings of 50 ppm") is a measurement, not a claim, and
is ignored. Qualifiers (small/large spill, day/night, fire) come from the nearest cue word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crisis_mas.safety.hazmat.text import fold, is_greek, sentences
from crisis_mas.safety.hazmat.units import UNIT_ALIASES

# Numbers: "300", "0.1", "0,2" (Greek decimal), "1,200" / "1.200" (thousands).
_NUM = r"\d{1,3}(?:[.,]\d{3})+(?![\d])|\d+(?:[.,]\d+)?"
_RANGE_SEP = r"\s*(?:-|–|—|to|έως|εως|ως|μέχρι|μεχρι)\s*"
_CONC_UNIT = r"ppm|mg\s*/\s*m(?:3|³|\^3)|mg\s+per\s+cubic\s+met(?:er|re)"
_LEN_UNIT = (
    r"kilomet(?:er|re)s?|km|χλμ|χιλιομετρ(?:α|ων|ο)|miles?|mi|μιλι(?:α|ων)?|"
    r"met(?:er|re)s?|m|μετρ(?:α|ων|ο)|μ|feet|foot|ft|ποδι(?:α|ων)"
)
_QUANTITY = re.compile(
    rf"(?<![\w.,])(?P<a>{_NUM})(?:{_RANGE_SEP}(?P<b>{_NUM}))?\s*"
    rf"(?P<unit>{_CONC_UNIT}|{_LEN_UNIT})(?![\w/³^])",
)
# Guide numbers run 111-175 in the ERG orange section.
_GUIDE = re.compile(
    r"(?:\berg\s*[-_]?\s*guide|\bguide|\bοδηγ(?:οσ|ο|ου))(?:\s*(?:no\.?|number|nr\.?|#|αρ\.?|"
    r"αριθμ(?:οσ|ο)|erg))?\s*[:#]?\s*(?P<g>1[1-7]\d)(?P<p>p)?\b"
)

_IDLH_KW = re.compile(r"\bidlh\b|immediately dangerous to life|αμεσα επικινδυν")
_ISOLATION_KW = re.compile(r"\bisolat\w*|απομονωσ\w*|απομονω\w*")
_PROTECT_KW = re.compile(
    r"\bprotect\w*|\bdownwind\b|προστασι\w*|προστατευ\w*|κατα τη φορα του ανεμου|υπηνεμ\w*"
)
_SMALL = re.compile(
    r"\bsmall[\s-]+(?:\w+\s+)?(?:spill|leak|release)s?\b|μικρ\w*\s+(?:\w+\s+)?"
    r"(?:διαρρο\w*|εκλυσ\w*|διαφυγ\w*)"
)
_LARGE = re.compile(
    r"\blarge[\s-]+(?:\w+\s+)?(?:spill|leak|release)s?\b|μεγαλ\w*\s+(?:\w+\s+)?"
    r"(?:διαρρο\w*|εκλυσ\w*|διαφυγ\w*)"
)
_DAY = re.compile(r"\bday(?:time)?\b|\bby day\b|ημερα\w*|\bμερα\w*|\bημερ\w*")
_NIGHT = re.compile(r"\bnight\w*\b|νυχτ\w*|νυκτ\w*")
_FIRE = re.compile(r"\bfire\b|\bon fire\b|\bburning\b|φωτι\w*|πυρκαγι\w*")

_NEGATED = re.compile(r"(?:\bnot|\binstead of|\brather than|\boxi|\bαντι(?: για)?)\s*$")
KEYWORD_WINDOW = 90  # max characters between a property keyword and its number


@dataclass(frozen=True, slots=True)
class Claim:
    property: str  # idlh | guide | isolation_distance | protective_distance
    low: float
    high: float
    unit: str  # ppm | mg/m3 | m | ft | km | mi | guide
    stated: str  # the text as written, e.g. "300 ppm"
    start: int
    end: int
    sentence: tuple[int, int]
    size: str | None = None  # small | large
    time: str | None = None  # day | night
    fire: bool = False


def parse_number(s: str, greek: bool = False) -> float:
    """'1,200' -> 1200, '0,2' -> 0.2, '1.200' -> 1200 in Greek text else 1.2."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", s) and not s.startswith("0,"):
        return float(s.replace(",", ""))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", s) and greek and not s.startswith("0."):
        return float(s.replace(".", ""))
    return float(s.replace(",", "."))


def _canon_unit(raw: str) -> str:
    u = re.sub(r"\s+", " ", raw.strip())
    if u.startswith("mg"):
        return "mg/m3"
    return UNIT_ALIASES.get(u, UNIT_ALIASES.get(u.rstrip("."), u))


def _nearest(spans: list[tuple[int, int, str]], start: int, end: int, window: int) -> str | None:
    """Label of the cue span closest to [start, end) within `window` chars (ties: preceding)."""
    best: tuple[int, int, str] | None = None
    for s, e, label in spans:
        gap = start - e if e <= start else s - end if s >= end else 0
        if gap > window:
            continue
        rank = (gap, 0 if e <= start else 1)
        if best is None or rank < best[:2]:
            best = (rank[0], rank[1], label)
    return best[2] if best else None


def _cues(folded: str, s0: int, s1: int, pats: list[tuple[re.Pattern, str]]) -> list:
    seg = folded[s0:s1]
    return [(s0 + m.start(), s0 + m.end(), label) for pat, label in pats for m in pat.finditer(seg)]


def extract_claims(text: str) -> list[Claim]:
    """All IDLH, guide, isolation and protective-distance claims in `text`, in order."""
    folded = fold(text)
    claims: list[Claim] = []
    for s0, s1 in sentences(text):
        seg = folded[s0:s1]
        greek = is_greek(seg)
        prop_cues = _cues(
            folded,
            s0,
            s1,
            [(_IDLH_KW, "idlh"), (_ISOLATION_KW, "isolation"), (_PROTECT_KW, "protective")],
        )
        size_cues = _cues(folded, s0, s1, [(_SMALL, "small"), (_LARGE, "large")])
        time_cues = _cues(folded, s0, s1, [(_DAY, "day"), (_NIGHT, "night")])
        fire = bool(_FIRE.search(seg))
        for m in _GUIDE.finditer(seg):
            g = int(m.group("g"))
            a, b = s0 + m.start(), s0 + m.end()
            if _NEGATED.search(folded[max(s0, a - 16) : a]):
                continue
            claims.append(Claim("guide", g, g, "guide", text[a:b], a, b, (s0, s1)))
        idlh_cues = [c for c in prop_cues if c[2] == "idlh"]
        dist_cues = [c for c in prop_cues if c[2] != "idlh"]
        quantities = []
        prev_end = -1
        for m in _QUANTITY.finditer(seg):
            a, b = s0 + m.start(), s0 + m.end()
            # "30 m (100 ft)", "300 ppm (209 mg/m3)": the bracketed figure restates the first.
            equivalent = prev_end >= 0 and re.fullmatch(r"\s*\(\s*", text[prev_end:a]) is not None
            prev_end = b
            if equivalent:
                continue
            if _NEGATED.search(folded[max(s0, a - 16) : a]):
                continue  # "the IDLH is 300 ppm, not 10 ppm": the rejected figure is no claim
            unit = _canon_unit(m.group("unit"))
            lo = parse_number(m.group("a"), greek)
            hi = parse_number(m.group("b"), greek) if m.group("b") else lo
            quantities.append((a, b, unit, min(lo, hi), max(lo, hi)))
        concs = [q for q in quantities if q[2] in ("ppm", "mg/m3")]
        for q in _idlh_owned(idlh_cues, concs):
            a, b, unit, lo, hi = q
            claims.append(Claim("idlh", lo, hi, unit, text[a:b], a, b, (s0, s1)))
        for a, b, unit, lo, hi in quantities:
            if unit in ("ppm", "mg/m3"):
                continue
            kind = _nearest(dist_cues, a, b, KEYWORD_WINDOW)
            if kind is None:
                continue
            prop = "isolation_distance" if kind == "isolation" else "protective_distance"
            claims.append(
                Claim(
                    prop,
                    lo,
                    hi,
                    unit,
                    text[a:b],
                    a,
                    b,
                    (s0, s1),
                    size=_nearest(size_cues, a, b, s1 - s0),
                    time=_nearest(time_cues, a, b, s1 - s0)
                    if prop == "protective_distance"
                    else None,
                    fire=fire,
                )
            )
    claims.sort(key=lambda c: c.start)
    return claims


def _idlh_owned(cues: list[tuple[int, int, str]], concs: list[tuple]) -> list[tuple]:
    """Each IDLH keyword owns one concentration: the first after it, else the nearest before.

    "Readings of 50 ppm are below the IDLH of 300 ppm" claims 300 ppm, not the reading.
    """
    owned: list[tuple] = []
    for s, e, _ in cues:
        after = [q for q in concs if q[0] >= e and q[0] - e <= KEYWORD_WINDOW]
        before = [q for q in concs if q[1] <= s and s - q[1] <= KEYWORD_WINDOW // 3]
        pick = after[0] if after else (before[-1] if before else None)
        if pick is not None and pick not in owned:
            owned.append(pick)
    return owned
