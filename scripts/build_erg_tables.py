"""Derive the project's compact ERG 2024 reference tables from the shared ERG extracts.

Reads `<shared>/erg/` (green tables 1-3, the processed index, the orange guides) and writes
versioned JSON into `crisis_mas/safety/hazmat/data/`. Each output names its source, the source
file's SHA-256, the ERG edition and the build date, so a table can always be traced and rebuilt:

    .venv/bin/python scripts/build_erg_tables.py [--shared DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crisis_mas.paths import shared_data  # noqa: E402

EDITION = "ERG 2024"
ORIGIN = (
    "US DOT/PHMSA, Transport Canada, SCT Mexico: Emergency Response Guidebook 2024, as processed "
    "in github.com/Wen398/Chemical-Accident-Emergency-Response-RAG-System"
)
SCHEMA = 1

_DIST = re.compile(r"^\s*([\d.]+)\s*(m|km)\s*\(\s*([\d.,]+)\s*(ft|mi)\s*\)\s*$")
_TRAILING_DIST = re.compile(r"\s+([\d.]+\s*m\s*\([\d.,]+\s*ft\))\s*$")
_GUIDE = re.compile(r"^(\d{3})(P?)$")
_INDEX_A = re.compile(
    r"^UN ID: (\d{4}) corresponds to Material: (.*?)\. "
    r"Emergency Response Guide Number: (\w+)\.(.*)$"
)
_INDEX_B = re.compile(
    r"^Material: (.*?) corresponds to UN ID: (\d{4})\. "
    r"Emergency Response Guide Number: (\w+)\.(.*)$"
)
_METERS = re.compile(r"(\d[\d,]*)\s*meters")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _header(table: str, src: Path, build_date: str, notes: str = "") -> dict:
    head = {
        "table": table,
        "schema": SCHEMA,
        "version": EDITION,
        "source": ORIGIN,
        "source_file": f"shared/data/erg/{src.name}",
        "source_sha256": _sha256(src),
        "build_date": build_date,
        "built_by": "scripts/build_erg_tables.py",
    }
    if notes:
        head["notes"] = notes
    return head


def parse_distance(text: str) -> dict | None:
    """'30 m (100 ft)' -> {'m': 30, 'ft': 100}; '0.1 km (0.1 mi)' -> {'km': 0.1, 'mi': 0.1}."""
    m = _DIST.match(text or "")
    if not m:
        return None
    value, unit, imp, imp_unit = m.groups()
    return {unit: float(value), imp_unit: float(imp.replace(",", ""))}


def parse_guide(text: str) -> tuple[int, bool]:
    """'125' -> (125, False); '131P' -> (131, True) (P: may polymerize)."""
    m = _GUIDE.match(text.strip())
    if not m:
        raise ValueError(f"bad guide number: {text!r}")
    return int(m.group(1)), bool(m.group(2))


def split_names(material: str) -> list[str]:
    """Split 'Ammonia, anhydrous / Anhydrous ammonia' into names; re-join PDF line wraps."""
    parts = [p.strip() for p in material.split(" / ")]
    names: list[str] = []
    for part in parts:
        wrapped = names and (names[-1].endswith((",", " or", " in", " with")) or part[:1].islower())
        if wrapped:
            names[-1] = f"{names[-1]} {part}"
        else:
            names.append(part)
    return [re.sub(r"\s+", " ", n) for n in names if n]


def _spill(raw: dict) -> dict:
    out: dict = {}
    if raw.get("note"):
        out["note"] = raw["note"]
        out["refer_table3"] = "table 3" in raw["note"].lower()
    for src, dst in (
        ("isolation_distance", "isolation"),
        ("protect_day", "protect_day"),
        ("protect_night", "protect_night"),
    ):
        if raw.get(src):
            parsed = parse_distance(raw[src])
            if parsed is None:
                raise ValueError(f"unparsed distance {raw[src]!r}")
            # Isolation is in m, protective distances in km: anything else is an extraction
            # error (a neighbouring cell); drop it rather than validate against a wrong figure.
            if ("m" in parsed) != (dst == "isolation"):
                out.setdefault("dropped", []).append({dst: raw[src]})
                continue
            out[dst] = parsed
    return out


_COLUMNS = ("isolation_distance", "protect_day", "protect_night")


def _realign(first: str, small: dict, large: dict) -> tuple[dict, dict]:
    """Refill small/large spill columns in order from a value sequence shifted by one."""
    values = [first] + [small[c] for c in _COLUMNS if c in small]
    values += [large[c] for c in _COLUMNS if c in large]
    slots = [("small", c) for c in _COLUMNS] + [("large", c) for c in _COLUMNS]
    out: dict[str, dict] = {"small": {}, "large": {}}
    for (side, col), value in zip(slots, values, strict=False):
        out[side][col] = value
    return out["small"], out["large"]


def build_table1(src: Path, build_date: str, index: dict) -> dict:
    raw = json.loads(src.read_text(encoding="utf-8"))
    entries = {}
    for un, row in sorted(raw.items()):
        guide, poly = parse_guide(row["guide_no"])
        material = row["material_name"]
        small_raw = dict(row.get("small_spill") or {})
        large_raw = dict(row.get("large_spill") or {})
        repaired = False
        trailing = _TRAILING_DIST.search(material)
        if trailing:
            # The PDF extraction glued the first distance onto the name and shifted every
            # column right by one: put the values back in ERG's column order.
            material = material[: trailing.start()]
            small_raw, large_raw = _realign(trailing.group(1), small_raw, large_raw)
            repaired = True
        names = split_names(material)
        if not names and un in index:
            names = list(index[un]["names"])  # an empty cell in the extraction
        entries[un] = {
            "guide": guide,
            "polymerization": poly,
            "material": " / ".join(names),
            "names": names,
            "small_spill": _spill(small_raw),
            "large_spill": _spill(large_raw),
        }
        if repaired:
            entries[un]["repaired"] = "column shift in the source extraction undone"
    head = _header(
        "ERG Table 1: initial isolation and protective action distances (TIH materials)",
        src,
        build_date,
        "Distances keep both ERG figures: metric (m, km) and ERG's own rounded imperial (ft, mi).",
    )
    return {**head, "count": len(entries), "entries": entries}


def build_table2(src: Path, build_date: str) -> dict:
    raw = json.loads(src.read_text(encoding="utf-8"))
    entries = {}
    for un, rows in sorted(raw.items()):
        out = []
        for row in rows:
            guide, poly = parse_guide(row["guide_no"])
            # Strip a neighbouring row glued on by the PDF extraction ("X 1305 155P Y  HCl").
            material = re.split(r"\s+\d{4}\s+\d{3}P?\s+", row["material_name"])[0].strip()
            out.append(
                {
                    "guide": guide,
                    "polymerization": poly,
                    "material": material,
                    "tih_gases": list(row.get("tih_gases") or []),
                }
            )
        entries[un] = out
    head = _header(
        "ERG Table 2: water-reactive materials which produce toxic gases", src, build_date
    )
    return {**head, "count": len(entries), "entries": entries}


def build_table3(src: Path, build_date: str) -> dict:
    raw = json.loads(src.read_text(encoding="utf-8"))
    entries = {}
    for chem in raw["chemicals"]:
        un = chem["un_number"].upper().removeprefix("UN")
        entries[un] = {
            "material": chem["name"],
            "containers": [
                {
                    "type": c["type"],
                    "isolation_m": float(c["initial_isolation_m"]),
                    "day_km": {k: float(v) for k, v in c["day_km"].items()},
                    "night_km": {k: float(v) for k, v in c["night_km"].items()},
                }
                for c in chem["containers"]
            ],
        }
    head = _header(
        "ERG Table 3: large-spill distances for six common TIH gases by container and wind",
        src,
        build_date,
    )
    return {
        **head,
        "wind_definitions": raw.get("wind_definitions", {}),
        "count": len(entries),
        "entries": entries,
    }


def build_index(src: Path, build_date: str) -> dict:
    entries: dict[str, dict] = {}
    for line in src.read_text(encoding="utf-8").splitlines():
        if m := _INDEX_A.match(line):
            un, name, guide_s, tail = m.groups()
        elif m := _INDEX_B.match(line):
            name, un, guide_s, tail = m.groups()
        else:
            continue
        guide, poly = parse_guide(guide_s)
        e = entries.setdefault(
            un, {"guides": [], "names": [], "tih": False, "polymerization": False}
        )
        if guide not in e["guides"]:
            e["guides"].append(guide)
        if name not in e["names"]:
            e["names"].append(name)
        e["tih"] = e["tih"] or "TIH Material" in tail
        e["polymerization"] = e["polymerization"] or poly
    for e in entries.values():
        e["guides"].sort()
    head = _header("ERG index: UN number to guide number and material names", src, build_date)
    return {**head, "count": len(entries), "entries": dict(sorted(entries.items()))}


def _meters(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in _METERS.findall(text)]


def build_guides(src: Path, build_date: str) -> dict:
    text = src.read_text(encoding="utf-8")
    blocks = re.split(r"\nGUIDE\n(\d{3})\n", text)
    entries: dict[str, dict] = {}
    for num, body in zip(blocks[1::2], blocks[2::2], strict=True):
        evac = body.split("EVACUATION", 1)[1] if "EVACUATION" in body else ""
        evac = evac.split("EMERGENCY RESPONSE", 1)[0]
        precaution, fire = evac, ""
        if "ISOLATE for" in evac or "If tank" in evac:
            cut = evac.find("If tank")
            precaution, fire = evac[:cut], evac[cut:]
        large = ""
        if "Large Spill" in precaution:
            precaution, large = precaution.split("Large Spill", 1)
        entries[num] = {
            "precautionary_isolation_m": _meters(precaution),
            "large_spill_evacuation_m": _meters(large),
            "fire_isolation_m": _meters(fire),
            "refers_table1": "Table 1" in evac,
        }
    head = _header(
        "ERG orange guides: precautionary isolation and fire isolation distances per guide",
        src,
        build_date,
    )
    return {**head, "count": len(entries), "entries": dict(sorted(entries.items()))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=shared_data(), help="shared data folder")
    ap.add_argument("--out", type=Path, default=REPO / "crisis_mas/safety/hazmat/data")
    ap.add_argument("--date", default=dt.date.today().isoformat(), help="build date to record")
    args = ap.parse_args(argv)
    erg = args.shared / "erg"
    if not erg.is_dir():
        print(f"ERG source folder not found: {erg}", file=sys.stderr)
        return 2
    index = build_index(erg / "ERG_Index_Processed.txt", args.date)
    jobs = {
        "erg_table1.json": build_table1(erg / "green_table_1.json", args.date, index["entries"]),
        "erg_table2.json": build_table2(erg / "green_table_2.json", args.date),
        "erg_table3.json": build_table3(erg / "green_table_3.json", args.date),
        "erg_index.json": index,
        "erg_guides.json": build_guides(erg / "ERG_Guides_Cleaned.txt", args.date),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for name, table in jobs.items():
        path = args.out / name
        path.write_text(json.dumps(table, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(
            f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: "
            f"{table['count']} entries"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
