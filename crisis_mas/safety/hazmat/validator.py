"""Verdicts on HAZMAT claims against the reference tables, with the tolerance policy.

Tolerance policy (see docs/safety.md):
- IDLH: consistent when the stated value, converted to NIOSH's unit (ppm <-> mg/m3 through the
  molecular weight at 25 degC), is within +-5% of the NIOSH value.
- Distances: consistent within +-10% of an ERG figure. Imperial figures are compared with ERG's
  own rounded imperial figure as well as with the converted metric one ("0.1 mi" is ERG's
  rendering of 0.2 km, so it passes). Without a small/large (μικρή/μεγάλη) cue a distance
  matches either spill size, and also the guide's precautionary isolation distance; "fire"
  adds the guide's fire isolation distance; TIH gases that "Refer to Table 3" accept any
  Table 3 container/wind figure for large spills.
- Guide numbers: exact match with any guide the ERG index gives for the substance's UN numbers.
A claim we cannot tie to a substance or a reference figure is `unknown`, never `contradicts`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from crisis_mas.safety.hazmat.binding import bind_target, default_target
from crisis_mas.safety.hazmat.claims import Claim, extract_claims
from crisis_mas.safety.hazmat.findings import (
    DISTANCE_TOLERANCE,
    IDLH_TOLERANCE,
    Finding,
)
from crisis_mas.safety.hazmat.identify import resolve
from crisis_mas.safety.hazmat.mentions import find_mentions
from crisis_mas.safety.hazmat.reference import (
    Registry,
    Target,
    erg_source,
    niosh_source,
    norm_un,
    registry,
)
from crisis_mas.safety.hazmat.units import TO_METRES, convert_concentration


@dataclass(frozen=True, slots=True)
class _Ref:
    value: float
    unit: str
    label: str
    source: str
    text: str


def _fmt(v: float) -> str:
    return f"{v:g}"


def _base(claim: Claim, target: Target | None) -> dict:
    un = f"UN{target.uns[0]}" if target and target.uns else None
    return {
        "substance": target.label if target else None,
        "un_number": un,
        "property": claim.property,
        "stated": claim.stated,
        "stated_value": claim.low if claim.low == claim.high else None,
        "stated_unit": claim.unit,
        "span": (claim.start, claim.end),
    }


def _check_idlh(reg: Registry, claim: Claim, target: Target) -> Finding:
    base = _base(claim, target)
    idlh = reg.idlh(target.sid)
    if idlh is None:
        note = (
            reg.substances.get(target.sid or "", {}).get("idlh_note")
            or "no NIOSH IDLH in the reference table"
        )
        return Finding(
            **base,
            reference=None,
            verdict="unknown",
            source=niosh_source(),
            reason=f"{target.label}: {note}",
        )
    ref = f"{_fmt(idlh.value)} {idlh.unit}" + (" (Ca)" if idlh.carcinogen else "")
    mw = reg.sid_mw(target.sid)
    lo = convert_concentration(claim.low, claim.unit, idlh.unit, mw)
    hi = convert_concentration(claim.high, claim.unit, idlh.unit, mw)
    common = {
        "reference": ref,
        "source": idlh.source,
        "reference_value": idlh.value,
        "reference_unit": idlh.unit,
    }
    if lo is None or hi is None:
        return Finding(
            **base,
            **common,
            verdict="unknown",
            reason=f"cannot convert {claim.unit} to {idlh.unit} without a molecular weight",
        )
    if lo <= idlh.value * (1 + IDLH_TOLERANCE) and hi >= idlh.value * (1 - IDLH_TOLERANCE):
        return Finding(
            **base,
            **common,
            verdict="consistent",
            reason=f"within {IDLH_TOLERANCE:.0%} of the NIOSH IDLH",
        )
    stated_conv = lo if lo == hi else math.sqrt(lo * hi)
    direction = "less_protective" if stated_conv > idlh.value else "more_protective"
    conv = "" if claim.unit == idlh.unit else f" (= {_fmt(round(stated_conv, 1))} {idlh.unit})"
    return Finding(
        **base,
        **common,
        verdict="contradicts",
        direction=direction,
        reason=f"{target.label} IDLH stated as {claim.stated}{conv}; NIOSH gives {ref}",
    )


def _check_guide(reg: Registry, claim: Claim, target: Target) -> Finding:
    base = _base(claim, target)
    guides = reg.guides_for(target.uns)
    if not guides:
        return Finding(
            **base,
            reference=None,
            verdict="unknown",
            source=erg_source(),
            reason=f"{target.label}: no UN number in the ERG index",
        )
    ref = " or ".join(str(g) for g in guides)
    ok = int(claim.low) in guides
    return Finding(
        **base,
        reference=ref,
        verdict="consistent" if ok else "contradicts",
        source=f"{erg_source()} index",
        reference_value=float(guides[0]),
        reference_unit="guide",
        reason="" if ok else f"{target.label}: ERG guide {ref}, not {int(claim.low)}",
    )


def _distance_refs(reg: Registry, claim: Claim, target: Target) -> list[_Ref]:
    """Every ERG figure the claim may legitimately refer to (see the module docstring)."""
    refs: list[_Ref] = []
    iso = claim.property == "isolation_distance"
    sizes = [claim.size] if claim.size else ["small", "large"]
    times = [claim.time] if claim.time else ["day", "night"]
    src1 = f"{erg_source()} Table 1"
    for un in target.uns:
        t1 = reg.table1.get(un)
        if t1 is None:
            continue
        for size in sizes:
            spill = t1[f"{size}_spill"]
            cols = ["isolation"] if iso else [f"protect_{t}" for t in times]
            for col in cols:
                fig = spill.get(col)
                if not fig:
                    continue
                metric = next(u for u in fig if u in ("m", "km"))
                imperial = next(u for u in fig if u in ("ft", "mi"))
                text = f"{_fmt(fig[metric])} {metric} ({_fmt(fig[imperial])} {imperial})"
                label = f"UN{un} {size} spill {col.replace('_', ' ')}"
                for u in (metric, imperial):
                    refs.append(_Ref(fig[u], u, label, src1, text))
            t3 = reg.table3.get(un)
            if size == "large" and spill.get("refer_table3") and t3:
                for c in t3["containers"]:
                    label = f"UN{un} large spill, Table 3, {c['type']}"
                    src3 = f"{erg_source()} Table 3"
                    if iso:
                        refs.append(
                            _Ref(c["isolation_m"], "m", label, src3, f"{_fmt(c['isolation_m'])} m")
                        )
                        continue
                    for t in times:
                        for wind, km in c[f"{t}_km"].items():
                            refs.append(
                                _Ref(
                                    km,
                                    "km",
                                    f"{label}, {t}, {wind.replace('_', ' ')}",
                                    src3,
                                    f"{_fmt(km)} km",
                                )
                            )
    if iso:
        for g in reg.guides_for(target.uns):
            gd = reg.guides.get(str(g), {})
            keys = ["precautionary_isolation_m"] if claim.size is None else []
            keys += ["fire_isolation_m"] if claim.fire else []
            for key in keys:
                for v in dict.fromkeys(gd.get(key, [])):
                    kind = "fire" if key.startswith("fire") else "precautionary"
                    refs.append(
                        _Ref(
                            v,
                            "m",
                            f"guide {g} {kind} isolation",
                            f"{erg_source()} guide {g}",
                            f"{_fmt(v)} m",
                        )
                    )
    return refs


def _close(stated: float, ref: float) -> bool:
    return abs(stated - ref) <= DISTANCE_TOLERANCE * ref


def _check_distance(reg: Registry, claim: Claim, target: Target) -> Finding:
    base = _base(claim, target)
    refs = _distance_refs(reg, claim, target)
    if not refs:
        what = (
            "initial isolation" if claim.property == "isolation_distance" else "protective action"
        )
        return Finding(
            **base,
            reference=None,
            verdict="unknown",
            source=erg_source(),
            reason=f"{target.label}: no ERG {what} distance (not a Table 1 material)",
        )
    lo_m, hi_m = (TO_METRES[claim.unit] * v for v in (claim.low, claim.high))
    for r in refs:
        if r.unit == claim.unit:
            hit = claim.low <= r.value * (1 + DISTANCE_TOLERANCE) and claim.high >= r.value * (
                1 - DISTANCE_TOLERANCE
            )
        else:
            rm = r.value * TO_METRES[r.unit]
            hit = lo_m <= rm * (1 + DISTANCE_TOLERANCE) and hi_m >= rm * (1 - DISTANCE_TOLERANCE)
        if hit:
            if r.label.startswith("UN"):
                base["un_number"] = r.label.split()[0]
            return Finding(
                **base,
                reference=r.text,
                verdict="consistent",
                source=r.source,
                reference_value=r.value,
                reference_unit=r.unit,
                reason=f"matches {r.label}",
            )
    mid = math.sqrt(max(lo_m, 1e-9) * max(hi_m, 1e-9))
    best = min(refs, key=lambda r: abs(math.log(mid / (r.value * TO_METRES[r.unit]))))
    best_m = best.value * TO_METRES[best.unit]
    direction = "less_protective" if mid < best_m else "more_protective"
    if best.label.startswith("UN"):
        base["un_number"] = best.label.split()[0]
    scope = f" for a {claim.size} spill" if claim.size else ""
    return Finding(
        **base,
        reference=best.text,
        verdict="contradicts",
        source=best.source,
        reference_value=best.value,
        reference_unit=best.unit,
        direction=direction,
        reason=f"{target.label}{scope}: stated {claim.stated}; nearest ERG figure is "
        f"{best.text} ({best.label})",
    )


def _judge(reg: Registry, claim: Claim, target: Target | None) -> Finding:
    if target is None:
        return Finding(
            **_base(claim, None),
            reference=None,
            verdict="unknown",
            source=None,
            reason="no substance named near the claim",
        )
    if claim.property == "idlh":
        return _check_idlh(reg, claim, target)
    if claim.property == "guide":
        return _check_guide(reg, claim, target)
    return _check_distance(reg, claim, target)


def validate_text(text: str, context: dict | None = None) -> list[Finding]:
    """Check every IDLH, guide and distance claim in `text`; one Finding per claim."""
    if not text or not text.strip():
        return []
    claims = extract_claims(text)
    if not claims:
        return []
    reg = registry()
    mentions = find_mentions(text)
    default = default_target(context)
    return [_judge(reg, c, bind_target(c, mentions, default, text)) for c in claims]


# ---- scenario facts ------------------------------------------------------------------------
_FACT_TEMPLATES = (
    (re.compile(r"idlh", re.I), "IDLH: {v}"),
    (re.compile(r"guide", re.I), "ERG guide {v}"),
    (re.compile(r"isolat", re.I), "initial isolation distance {v}"),
    (re.compile(r"protect", re.I), "protective action distance {v}"),
)


def check_scenario_facts(hazmat_specific: dict) -> list[Finding]:
    """Check a scenario's own `expert_selection.hazmat_specific` facts against the tables."""
    if not hazmat_specific:
        return []
    reg = registry()
    facts = {k: v for k, v in hazmat_specific.items() if v not in (None, "")}
    chem = str(facts.get("chemical", "") or "")
    by_name = resolve(chem) if chem else None
    un = norm_un(str(facts.get("un_number", ""))) if facts.get("un_number") else None
    by_un = reg.target_for_un(un) if un else None
    target = by_un or by_name
    findings: list[Finding] = []
    if un and by_name is not None:
        ok = un in by_name.uns or (by_un is not None and by_un.sid == by_name.sid is not None)
        if not ok and by_un is not None:
            ok = reg.material_name(un).lower().split(",")[0] in chem.lower()
        if not ok:
            target = by_name  # the name is what people read: check the other facts against it
        findings.append(
            Finding(
                substance=by_name.label,
                un_number=f"UN{un}",
                property="un_number",
                stated=str(facts["un_number"]),
                reference=", ".join(f"UN{u}" for u in by_name.uns) or None,
                verdict="consistent" if ok else ("contradicts" if by_name.uns else "unknown"),
                source=f"{erg_source()} index",
                reason="" if ok else f"{chem!r} is not UN{un} ({reg.material_name(un)})",
            )
        )
    if facts.get("cas_number") and target and target.sid:
        cas = reg.substances[target.sid].get("cas")
        stated = str(facts["cas_number"]).strip()
        findings.append(
            Finding(
                substance=target.label,
                un_number=f"UN{target.uns[0]}" if target.uns else None,
                property="cas_number",
                stated=stated,
                reference=cas,
                verdict="unknown"
                if not cas
                else ("consistent" if cas == stated else "contradicts"),
                source=niosh_source(),
                reason="" if cas in (None, stated) else f"CAS is {cas}",
            )
        )
    ctx = (
        {"un_number": f"UN{target.uns[0]}"}
        if target and target.uns
        else ({"chemical": chem} if chem else None)
    )
    for key, value in facts.items():
        for pat, template in _FACT_TEMPLATES:
            if pat.search(key):
                findings += validate_text(template.format(v=value), ctx)
                break
    return findings
