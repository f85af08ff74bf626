"""HAZMAT validation: reference tables, claim extraction (EN/GR), unit conversion, verdicts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from crisis_mas.safety.hazmat import (
    check_scenario_facts,
    format_corrections,
    lookup,
    table_versions,
    validate_text,
)
from crisis_mas.safety.hazmat.reference import DATA_DIR, load_table
from crisis_mas.safety.hazmat.units import mg_m3_to_ppm, ppm_to_mg_m3, to_metres

REPO = Path(__file__).resolve().parents[2]


def verdicts(text: str, context: dict | None = None) -> list[tuple[str, str, str]]:
    return [(f.property, f.stated, f.verdict) for f in validate_text(text, context)]


def only(text: str, context: dict | None = None):
    found = validate_text(text, context)
    assert len(found) == 1, found
    return found[0]


# ---- reference tables ----------------------------------------------------------------------
def test_every_table_names_its_source_version_and_date():
    versions = table_versions()
    assert set(versions) == {p.stem for p in DATA_DIR.glob("*.json")}
    for name, head in versions.items():
        assert head["version"] and head["source"], name
        assert head.get("build_date") or head.get("curated"), name


def test_niosh_table_is_large_and_has_the_key_values():
    idlh = load_table("niosh_idlh")["entries"]
    assert len(idlh) >= 150
    expected = {
        "ammonia": (300, "ppm", False),
        "chlorine": (10, "ppm", False),
        "hydrogen_sulfide": (100, "ppm", False),
        "hydrogen_cyanide": (50, "ppm", False),
        "sulfur_dioxide": (100, "ppm", False),
        "carbon_monoxide": (1200, "ppm", False),
        "benzene": (500, "ppm", True),
        "phosgene": (2, "ppm", False),
    }
    for sid, (value, unit, ca) in expected.items():
        e = idlh[sid]
        assert (e["idlh"], e["unit"], e["carcinogen"]) == (value, unit, ca), sid
    assert all(e["unit"] in ("ppm", "mg/m3") and e["cas"] for e in idlh.values())


def test_erg_tables_parse_distances_and_guides():
    t1 = load_table("erg_table1")["entries"]
    assert t1["1005"]["guide"] == 125
    assert t1["1005"]["small_spill"]["isolation"] == {"m": 30.0, "ft": 100.0}
    assert t1["1005"]["large_spill"]["refer_table3"] is True
    assert t1["1017"]["small_spill"]["protect_day"] == {"km": 0.3, "mi": 0.2}
    # The one row whose columns were shifted in the extraction is put back in ERG's order.
    assert t1["2190"]["small_spill"]["isolation"]["m"] == 300.0
    assert load_table("erg_index")["count"] > 1900
    assert load_table("erg_table3")["entries"]["1017"]["containers"][0]["isolation_m"] == 1000


def _build_script():
    spec = importlib.util.spec_from_file_location("build_erg", REPO / "scripts/build_erg_tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_build_script_helpers():
    b = _build_script()
    assert b.parse_distance("30 m (100 ft)") == {"m": 30.0, "ft": 100.0}
    assert b.parse_distance("0.1 km (0.1 mi)") == {"km": 0.1, "mi": 0.1}
    assert b.parse_distance("Refer to Table 3") is None
    assert b.parse_guide("131P") == (131, True)
    assert b.split_names("Ammonia, anhydrous / Anhydrous ammonia") == [
        "Ammonia, anhydrous",
        "Anhydrous ammonia",
    ]
    assert b.split_names("Hydrogen chloride, / refrigerated liquid") == [
        "Hydrogen chloride, refrigerated liquid"
    ]


@pytest.mark.skipif(not (REPO.parent / "shared/data/erg").is_dir(), reason="no shared ERG data")
def test_build_script_reproduces_the_committed_tables(tmp_path):
    b = _build_script()
    date = load_table("erg_table1")["build_date"]
    assert b.main(["--out", str(tmp_path), "--date", date]) == 0
    for name in ("erg_table1", "erg_table2", "erg_table3", "erg_index", "erg_guides"):
        built = json.loads((tmp_path / f"{name}.json").read_text("utf-8"))
        assert built == load_table(name), name


# ---- units ---------------------------------------------------------------------------------
def test_unit_conversions():
    assert ppm_to_mg_m3(300, 17.03) == pytest.approx(208.96, abs=0.01)
    assert mg_m3_to_ppm(29.0, 70.91) == pytest.approx(10.0, abs=0.01)
    assert to_metres(100, "ft") == pytest.approx(30.48)
    assert to_metres(0.1, "mi") == pytest.approx(160.93, abs=0.01)


# ---- IDLH ------------------------------------------------------------------------------------
def test_ammonia_idlh_verdicts():
    bad = only("The IDLH of ammonia is 10 ppm.")
    assert (bad.verdict, bad.reference, bad.substance) == ("contradicts", "300 ppm", "Ammonia")
    assert bad.un_number == "UN1005" and "NIOSH" in bad.source
    assert only("The IDLH of ammonia is 300 ppm.").verdict == "consistent"


def test_idlh_unit_conversion_and_tolerance():
    assert only("Ammonia IDLH: 209 mg/m3").verdict == "consistent"
    assert only("Ammonia IDLH: 520 mg/m3").verdict == "contradicts"
    assert only("Chlorine IDLH is 10.4 ppm").verdict == "consistent"  # within 5%
    assert only("Chlorine IDLH is 11 ppm").verdict == "contradicts"  # outside 5%
    assert only("H2S IDLH is 100 ppm").verdict == "consistent"
    assert only("The IDLH for HCN is 50 ppm").verdict == "consistent"
    assert only("Benzene (Ca) IDLH 500 ppm").verdict == "consistent"
    assert only("Phosgene IDLH 20 ppm").verdict == "contradicts"


def test_greek_idlh_claims():
    assert only("Το IDLH της αμμωνίας είναι 300 ppm").verdict == "consistent"
    assert only("Το IDLH του χλωρίου είναι 100 ppm").verdict == "contradicts"
    assert only("Το IDLH του υδρόθειου είναι 100 ppm").verdict == "consistent"
    f = only("Το IDLH του διοξειδίου του θείου είναι 10 ppm")
    assert (f.substance, f.verdict) == ("Sulfur dioxide", "contradicts")


def test_readings_are_not_claims_and_rejected_figures_are_ignored():
    assert validate_text("Readings of 50 ppm ammonia at the cordon.") == []
    f = only("Readings of 50 ppm are below the ammonia IDLH of 300 ppm.")
    assert (f.stated, f.verdict) == ("300 ppm", "consistent")
    assert verdicts("The chlorine IDLH is 10 ppm, not 100 ppm.") == [
        ("idlh", "10 ppm", "consistent")
    ]


def test_claim_without_a_substance_is_unknown_unless_context_names_one():
    assert only("The IDLH is 10 ppm.").verdict == "unknown"
    f = only("The IDLH is 10 ppm.", {"hazards": "toxic_gas,ammonia"})
    assert (f.substance, f.verdict) == ("Ammonia", "contradicts")
    assert only("The IDLH is 10 ppm.", {"un_number": "UN1017"}).verdict == "consistent"


def test_substance_without_niosh_idlh_is_unknown():
    f = only("Vinyl chloride IDLH is 1000 ppm")
    assert f.verdict == "unknown" and "N.D." in f.reason


# ---- guide numbers -------------------------------------------------------------------------
def test_guide_numbers():
    assert only("UN1005: use ERG guide 125.").verdict == "consistent"
    assert only("UN1005: use ERG guide 124.").verdict == "contradicts"
    assert only("For chlorine follow Guide 124").verdict == "consistent"
    assert only("Οδηγός ERG 124 για το χλώριο").verdict == "consistent"
    assert only("Hydrogen sulfide, guide no. 117").verdict == "consistent"


# ---- distances -------------------------------------------------------------------------------
def test_isolation_distances():
    assert only("For ammonia isolate 30 m in all directions.").verdict == "consistent"
    assert only("Ammonia small spill: isolation distance 100 m").verdict == "contradicts"
    # Without small/large either Table 1 value or the guide's precautionary distance matches.
    assert only("Ammonia: isolation distance 100 m").verdict == "consistent"
    assert only("Isolate ammonia leaks 100 ft in all directions").verdict == "consistent"
    assert only("Chlorine, large spill from a rail tank car: isolate 1000 m").verdict == (
        "consistent"
    )
    assert only("Chlorine large spill: initial isolation 10 m").verdict == "contradicts"
    assert only("UN1051 small spill isolation 0.06 km").verdict == "consistent"


def test_protective_distances():
    assert only("Chlorine small spill: protect downwind 0.3 km by day").verdict == "consistent"
    assert only("Chlorine small spill: protect downwind 0.2 mi by day").verdict == "consistent"
    assert only("Chlorine small spill: protect downwind 3 km by day").verdict == "contradicts"
    # ERG rounds 0.2 km to 0.1 mi; its own imperial figure passes.
    assert only("UN1005 small spill, protect persons downwind 0.1 mi at night").verdict == (
        "consistent"
    )


def test_greek_distance_claims():
    ctx = {"hazards": "ammonia"}
    assert only("απόσταση απομόνωσης 100 μέτρα", ctx).verdict == "consistent"
    assert only("απόσταση απομόνωσης για μικρή διαρροή 100 μέτρα", ctx).verdict == "contradicts"
    assert only("Χλώριο, μικρή διαρροή: προστασία τη νύχτα 1,5 χλμ").verdict == "consistent"


def test_findings_carry_the_contract_fields_and_flags():
    f = only("The IDLH of ammonia is 10 ppm.")
    assert set(f.public()) >= {
        "substance",
        "un_number",
        "property",
        "stated",
        "reference",
        "verdict",
        "source",
    }
    flag = f.to_flag()
    assert flag["type"] == "hazmat_contradiction" and 0 < flag["score"] <= 1 and flag["reason"]


def test_format_corrections_puts_the_reference_first():
    text = format_corrections(validate_text("The IDLH of ammonia is 10 ppm. Use guide 124 (NH3)."))
    assert "300 ppm" in text and "not 10 ppm" in text and "125" in text
    # Re-checking the correction (or an answer repeating it) finds no contradiction.
    assert all(f.verdict != "contradicts" for f in validate_text(text))
    assert format_corrections(validate_text("Ammonia IDLH 300 ppm")) == ""


# ---- look-up ---------------------------------------------------------------------------------
def test_lookup_by_un_name_formula_greek_and_cas():
    nh3 = lookup("UN1005")
    assert nh3.idlh.value == 300 and nh3.erg[0].guides == [125] and nh3.erg[0].table3
    assert lookup("ammonia").cas == "7664-41-7"
    assert lookup("H2S").idlh.value == 100
    assert lookup("υδροκυάνιο").idlh.value == 50
    assert lookup("7782-50-5").name == "Chlorine"
    assert lookup("Anhydrous Ammonia (NH3)").id == "ammonia"
    assert lookup("unobtainium") is None
    water = lookup("UN1162")
    assert water.erg[0].table2  # water-reactive (Table 2)


# ---- scenario facts ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["elefsina_ammonia", "piraeus_chlorine"])
def test_bundled_scenario_facts_are_consistent(name):
    data = json.loads((REPO / "scenarios" / f"{name}.json").read_text("utf-8"))
    found = check_scenario_facts(data["expert_selection"]["hazmat_specific"])
    assert found and all(f.verdict == "consistent" for f in found), found


def test_wrong_scenario_facts_are_reported():
    found = check_scenario_facts(
        {"chemical": "Anhydrous Ammonia (NH3)", "un_number": "UN1005", "idlh": "10 ppm"}
    )
    assert [(f.property, f.verdict) for f in found] == [
        ("un_number", "consistent"),
        ("idlh", "contradicts"),
    ]
    mixed = check_scenario_facts({"chemical": "Chlorine (Cl2)", "un_number": "UN1005"})
    assert mixed[0].property == "un_number" and mixed[0].verdict == "contradicts"


def test_flags_round_trip_into_corrections():
    """The pipeline rebuilds Findings from result flags to write the re-query feedback."""
    from crisis_mas.safety.hazmat import Finding

    flags = [f.to_flag() for f in validate_text("The IDLH of ammonia is 10 ppm.")]
    text = format_corrections([Finding.model_validate(f) for f in flags])
    assert text == format_corrections(validate_text("The IDLH of ammonia is 10 ppm."))
    assert "300 ppm" in text
