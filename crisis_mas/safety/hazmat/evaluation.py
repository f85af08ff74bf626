"""`hazmat eval`: claims generated from the reference tables, with right and wrong values.

Every IDLH (NIOSH table), guide number (ERG index) and Table 1 distance is stated once with its
reference value (expected `consistent`) and with a wrong one (expected `contradicts`): values
multiplied or divided by 2.5 (both directions, so "off by at least 2x" either way) and a guide
number the ERG never gives for that UN number. Some claims are phrased in Greek, some convert
units (mg/m3, ft, mi), some name the substance instead of its UN number.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from crisis_mas.safety.hazmat.reference import registry
from crisis_mas.safety.hazmat.units import ppm_to_mg_m3
from crisis_mas.safety.hazmat.validator import validate_text

WRONG_FACTOR = 2.5  # default; `hazmat eval --factor 2` checks the 2x boundary


@dataclass(frozen=True)
class Case:
    group: str
    text: str
    expected: str
    property: str


def _g(v: float) -> str:
    return f"{v:.3g}" if v < 1000 else f"{round(v):d}"


def _idlh_cases(factor: float) -> Iterator[Case]:
    reg = registry()
    for sid, n in reg.niosh.items():
        name = reg.substances[sid]["name"]
        v, unit = n["idlh"], n["unit"]
        yield Case("idlh_en", f"The IDLH of {name} is {_g(v)} {unit}.", "consistent", "idlh")
        for f in (factor, 1 / factor):
            yield Case(
                "idlh_en", f"The IDLH of {name} is {_g(v * f)} {unit}.", "contradicts", "idlh"
            )
        if unit == "ppm" and n.get("mw"):
            mg = ppm_to_mg_m3(v, n["mw"])
            yield Case("idlh_converted", f"{name}: IDLH {_g(mg)} mg/m3.", "consistent", "idlh")
            yield Case(
                "idlh_converted",
                f"{name}: IDLH {_g(mg * factor)} mg/m3.",
                "contradicts",
                "idlh",
            )
        el = reg.substances[sid]["el"]
        if el:
            yield Case(
                "idlh_el", f"Ουσία: {el[0]}. Το IDLH είναι {_g(v)} {unit}.", "consistent", "idlh"
            )
            yield Case(
                "idlh_el",
                f"Ουσία: {el[0]}. Το IDLH είναι {_g(v / factor)} {unit}.",
                "contradicts",
                "idlh",
            )


def _guide_cases(factor: float) -> Iterator[Case]:
    reg = registry()
    all_guides = sorted({g for e in reg.index.values() for g in e["guides"]})
    for un, e in reg.index.items():
        guides = e["guides"]
        yield Case(
            "guide", f"UN{un} ({e['names'][0]}): use ERG guide {guides[0]}.", "consistent", "guide"
        )
        wrong = next(
            g
            for g in all_guides[(all_guides.index(guides[0]) + 7) % len(all_guides) :] + all_guides
            if g not in guides
        )
        yield Case(
            "guide", f"UN{un} ({e['names'][0]}): use ERG guide {wrong}.", "contradicts", "guide"
        )


def _distance_cases(factor: float) -> Iterator[Case]:
    reg = registry()
    for un, t in reg.table1.items():
        for size in ("small", "large"):
            spill = t[f"{size}_spill"]
            iso = spill.get("isolation")
            if iso:
                for unit in ("m", "ft"):
                    yield Case(
                        f"isolation_{unit}",
                        f"UN{un}, {size} spill: initial isolation distance {_g(iso[unit])} {unit}.",
                        "consistent",
                        "isolation_distance",
                    )
                for f in (factor, 1 / factor):
                    yield Case(
                        "isolation_m",
                        f"UN{un}, {size} spill: initial isolation distance {_g(iso['m'] * f)} m.",
                        "contradicts",
                        "isolation_distance",
                    )
            for when in ("day", "night"):
                p = spill.get(f"protect_{when}")
                if not p:
                    continue
                for unit in ("km", "mi"):
                    yield Case(
                        f"protective_{unit}",
                        f"UN{un}, {size} spill: protect persons "
                        f"downwind {_g(p[unit])} {unit} at {when}.",
                        "consistent",
                        "protective_distance",
                    )
                for f in (factor, 1 / factor):
                    yield Case(
                        "protective_km",
                        f"UN{un}, {size} spill: protect persons downwind "
                        f"{_g(p['km'] * f)} km at {when}.",
                        "contradicts",
                        "protective_distance",
                    )
        iso = t["small_spill"].get("isolation")
        if iso and t["names"]:
            yield Case(
                "isolation_el",
                f"UN{un}: απόσταση απομόνωσης για μικρή διαρροή {_g(iso['m'])} μέτρα.",
                "consistent",
                "isolation_distance",
            )
            yield Case(
                "isolation_el",
                f"UN{un}: απόσταση απομόνωσης για μικρή διαρροή {_g(iso['m'] * factor)} μέτρα.",
                "contradicts",
                "isolation_distance",
            )


def cases(factor: float = WRONG_FACTOR) -> list[Case]:
    return [*_idlh_cases(factor), *_guide_cases(factor), *_distance_cases(factor)]


def run_eval(max_failures: int = 5, factor: float | None = None) -> dict:
    """Per group: n, correct and the share of expected verdicts; a few failures as examples.

    `factor` (>= 2) sets how far off the wrong values are (default WRONG_FACTOR)."""
    factor = WRONG_FACTOR if factor is None else factor
    if factor < 2:
        raise ValueError("factor must be >= 2 (wrong values are off by at least 2x)")
    t0 = time.perf_counter()
    stats: dict[str, dict] = defaultdict(lambda: {"n": 0, "correct": 0, "failures": []})
    for case in cases(factor):
        findings = [f for f in validate_text(case.text) if f.property == case.property]
        got = findings[0].verdict if findings else "no claim found"
        key = f"{case.group}/{case.expected}"
        s = stats[key]
        s["n"] += 1
        if got == case.expected:
            s["correct"] += 1
        elif len(s["failures"]) < max_failures:
            s["failures"].append(
                {"text": case.text, "got": got, "reason": findings[0].reason if findings else ""}
            )
    out = {k: {**v, "rate": round(v["correct"] / v["n"], 4)} for k, v in sorted(stats.items())}
    total = sum(v["n"] for v in out.values())
    correct = sum(v["correct"] for v in out.values())
    for verdict in ("consistent", "contradicts"):
        rows = [v for k, v in out.items() if k.endswith("/" + verdict)]
        n = sum(v["n"] for v in rows)
        out[f"all/{verdict}"] = {
            "n": n,
            "correct": sum(v["correct"] for v in rows),
            "rate": round(sum(v["correct"] for v in rows) / n, 4),
            "failures": [],
        }
    out["_meta"] = {
        "cases": total,
        "correct": correct,
        "seconds": round(time.perf_counter() - t0, 2),
        "wrong_factor": factor,
    }
    return out
