"""The HAZMAT reference data: versioned ERG 2024 / NIOSH / synonym tables and the look-ups on them.

Tables live in `data/*.json` (ERG tables are built by `scripts/build_erg_tables.py`; NIOSH IDLH
values and synonyms are curated by hand). Everything is loaded once, lazily, into a `Registry`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field

from crisis_mas.safety.hazmat.text import name_key
from crisis_mas.safety.hazmat.units import convert_concentration

DATA_DIR = Path(__file__).resolve().parent / "data"
TABLES = (
    "erg_table1",
    "erg_table2",
    "erg_table3",
    "erg_index",
    "erg_guides",
    "niosh_idlh",
    "synonyms",
)

_UN = re.compile(r"^\s*(?:UN|NA)?\s*[-#:]?\s*(\d{4})\s*$", re.IGNORECASE)
CAS_PATTERN = re.compile(r"^\s*(\d{2,7}-\d{2}-\d)\s*$")
# Single-word ERG names are used for mention detection only when they look like a chemical.
_CHEMICAL_WORD = re.compile(
    r"(ine|ide|ene|ane|ol|one|ate|ite|yl|ium|yne|al|ene|oxide|acid|ether|gas)$"
)


@cache
def load_table(name: str) -> dict:
    """One reference table with its header (source, version, build date)."""
    return json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))


def table_versions() -> dict[str, dict]:
    """Source and version of every table (for `hazmat lookup`, docs and findings)."""
    out = {}
    for t in TABLES:
        tab = load_table(t)
        out[t] = {
            k: tab.get(k)
            for k in ("table", "version", "source", "build_date", "curated", "count")
            if tab.get(k) is not None
        }
    return out


def norm_un(value: str | int) -> str | None:
    """'UN1005', 'un 1005', '1005' -> '1005'; None when it is not a UN number."""
    m = _UN.match(str(value))
    return m.group(1) if m else None


class Idlh(BaseModel):
    value: float
    unit: str
    carcinogen: bool = False
    basis: str | None = None
    # The same value in the other unit when the molecular weight allows a conversion.
    converted: dict[str, float] = Field(default_factory=dict)
    source: str


class ErgFacts(BaseModel):
    un_number: str
    names: list[str]
    guides: list[int]
    tih: bool = False
    polymerization: bool = False
    table1: dict | None = None
    table2: list[dict] | None = None
    table3: dict | None = None
    guide_distances: dict[str, dict] = Field(default_factory=dict)
    source: str


class SubstanceFacts(BaseModel):
    """Everything the reference tables say about one substance (or one UN number)."""

    id: str | None = None
    name: str
    un_numbers: list[str] = Field(default_factory=list)
    cas: str | None = None
    formulas: list[str] = Field(default_factory=list)
    synonyms: list[str] = Field(default_factory=list)
    greek_names: list[str] = Field(default_factory=list)
    molecular_weight: float | None = None
    idlh: Idlh | None = None
    idlh_note: str | None = None
    erg: list[ErgFacts] = Field(default_factory=list)
    sources: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """What a mention refers to: a curated substance id and/or ERG UN numbers."""

    sid: str | None
    uns: tuple[str, ...]
    label: str


@dataclass
class Registry:
    substances: dict[str, dict]
    niosh: dict[str, dict]
    index: dict[str, dict]
    table1: dict[str, dict]
    table2: dict[str, list]
    table3: dict[str, dict]
    guides: dict[str, dict]
    un_to_sid: dict[str, str] = field(default_factory=dict)
    names: dict[tuple[str, ...], Target] = field(default_factory=dict)
    exact: dict[str, Target] = field(default_factory=dict)  # case-sensitive formulas/acronyms
    cas: dict[str, str] = field(default_factory=dict)
    max_name_len: int = 1

    # ---- targets -------------------------------------------------------------------------
    def target_for_sid(self, sid: str) -> Target:
        s = self.substances[sid]
        return Target(sid, tuple(s["un"]), s["name"])

    def target_for_un(self, un: str) -> Target | None:
        if un not in self.index and un not in self.table1:
            sid = self.un_to_sid.get(un)
            return Target(sid, (un,), self.substances[sid]["name"]) if sid else None
        sid = self.un_to_sid.get(un)
        label = self.substances[sid]["name"] if sid else self.material_name(un)
        return Target(sid, (un,), label)

    def material_name(self, un: str) -> str:
        if un in self.table1:
            return self.table1[un]["names"][0]
        if un in self.index:
            return self.index[un]["names"][0]
        return f"UN{un}"

    def guides_for(self, uns: tuple[str, ...]) -> list[int]:
        out: list[int] = []
        for un in uns:
            for g in self.index.get(un, {}).get("guides", []) or (
                [self.table1[un]["guide"]] if un in self.table1 else []
            ):
                if g not in out:
                    out.append(g)
        return out

    def sid_mw(self, sid: str | None) -> float | None:
        if sid is None:
            return None
        if sid in self.niosh:
            return self.niosh[sid].get("mw")
        return self.substances.get(sid, {}).get("mw")

    # ---- facts ---------------------------------------------------------------------------
    def idlh(self, sid: str | None) -> Idlh | None:
        if sid is None or sid not in self.niosh:
            return None
        n = self.niosh[sid]
        other = "mg/m3" if n["unit"] == "ppm" else "ppm"
        conv = convert_concentration(n["idlh"], n["unit"], other, n.get("mw"))
        return Idlh(
            value=n["idlh"],
            unit=n["unit"],
            carcinogen=n["carcinogen"],
            basis=n.get("basis"),
            converted={other: round(conv, 3 if conv < 10 else 1)} if conv is not None else {},
            source=niosh_source(),
        )

    def erg_facts(self, un: str) -> ErgFacts | None:
        ix = self.index.get(un)
        t1 = self.table1.get(un)
        if ix is None and t1 is None:
            return None
        guides = self.guides_for((un,))
        names = list(ix["names"]) if ix else list(t1["names"])
        return ErgFacts(
            un_number=f"UN{un}",
            names=names,
            guides=guides,
            tih=bool(ix and ix.get("tih")) or t1 is not None,
            polymerization=bool((ix and ix.get("polymerization")) or (t1 and t1["polymerization"])),
            table1={k: v for k, v in t1.items() if k in ("small_spill", "large_spill", "repaired")}
            if t1
            else None,
            table2=self.table2.get(un),
            table3=self.table3.get(un),
            guide_distances={str(g): self.guides[str(g)] for g in guides if str(g) in self.guides},
            source=erg_source(),
        )

    def facts(self, target: Target) -> SubstanceFacts:
        sid = target.sid
        s = self.substances.get(sid) if sid else None
        uns = list(target.uns) if target.uns else (list(s["un"]) if s else [])
        erg = [e for un in uns if (e := self.erg_facts(un)) is not None]
        sources = {"erg": erg_source()} if erg else {}
        idlh = self.idlh(sid)
        if idlh:
            sources["niosh"] = niosh_source()
        if s:
            sources["synonyms"] = _version("synonyms")
            return SubstanceFacts(
                id=sid,
                name=s["name"],
                un_numbers=[f"UN{u}" for u in uns],
                cas=s.get("cas"),
                formulas=s["formulas"],
                synonyms=s["names"][1:],
                greek_names=s["el"],
                molecular_weight=self.sid_mw(sid),
                idlh=idlh,
                idlh_note=s.get("idlh_note"),
                erg=erg,
                sources=sources,
            )
        return SubstanceFacts(
            name=target.label,
            un_numbers=[f"UN{u}" for u in uns],
            synonyms=erg[0].names[1:] if erg else [],
            erg=erg,
            sources=sources,
            idlh_note="not in the project's NIOSH IDLH table",
        )


def _version(name: str) -> str:
    t = load_table(name)
    return f"{t['version']}"


def erg_source() -> str:
    return _version("erg_table1")


def niosh_source() -> str:
    return f"NIOSH Pocket Guide IDLH ({_version('niosh_idlh')})"


# Single words that are far more often ordinary English than the substance.
_AMBIGUOUS_KEYS = frozenset(
    {("lead",), ("silver",), ("copper",), ("tin",), ("iron",), ("matches",), ("ether",)}
)


def _add_name(reg: Registry, key: tuple[str, ...], target: Target, override: bool) -> None:
    if not key or key in _AMBIGUOUS_KEYS:
        return
    if override or key not in reg.names:
        reg.names[key] = target
    elif reg.names[key].sid == target.sid and set(target.uns) - set(reg.names[key].uns):
        # Two ERG entries share a name (e.g. several 'Hydrogen cyanide' rows): keep all UNs.
        old = reg.names[key]
        reg.names[key] = Target(None, tuple(dict.fromkeys(old.uns + target.uns)), old.label)
    reg.max_name_len = max(reg.max_name_len, len(key))


def _is_acronym(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(word) <= 5 and sum(c.isupper() for c in letters) >= 2


@cache
def registry() -> Registry:
    """Build the look-up structures once per process (~0.1 s)."""
    syn = load_table("synonyms")["entries"]
    reg = Registry(
        substances=syn,
        niosh=load_table("niosh_idlh")["entries"],
        index=load_table("erg_index")["entries"],
        table1=load_table("erg_table1")["entries"],
        table2=load_table("erg_table2")["entries"],
        table3=load_table("erg_table3")["entries"],
        guides=load_table("erg_guides")["entries"],
    )
    for sid, s in syn.items():
        for un in s["un"]:
            reg.un_to_sid.setdefault(un, sid)
        if s.get("cas"):
            reg.cas.setdefault(s["cas"], sid)
    # ERG names first (weaker), then curated names override them.
    for un, e in list(reg.index.items()) + [
        (u, {"names": t["names"]}) for u, t in reg.table1.items()
    ]:
        t = Target(reg.un_to_sid.get(un), (un,), e["names"][0])
        for name in e["names"]:
            if "n.o.s" in name.lower():
                continue
            _add_name(reg, name_key(name), t, override=False)
            head = name_key(name.split(",")[0])
            if len(head) > 1 or (head and _CHEMICAL_WORD.search(head[0]) and len(head[0]) >= 6):
                _add_name(reg, head, t, override=False)
    for sid, s in syn.items():
        t = reg.target_for_sid(sid)
        for name in s["names"]:
            if _is_acronym(name):
                reg.exact[name] = t
            else:
                _add_name(reg, name_key(name), t, override=True)
        for name in s["el"]:
            _add_name(reg, name_key(name), t, override=True)
        for f in s["formulas"]:
            reg.exact[f] = t
    return reg
