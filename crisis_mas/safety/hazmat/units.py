"""Unit conversion for HAZMAT claims: lengths (m, ft, km, mi) and ppm <-> mg/m3.

ppm and mg/m3 convert through the molecular weight at 25 degC and 1 atm, where one mole of
ideal gas occupies 24.45 L (the convention NIOSH and OSHA use): mg/m3 = ppm * MW / 24.45.
"""

from __future__ import annotations

from crisis_mas.safety.text import UNITS

MOLAR_VOLUME_L = 24.45

TO_METRES = {"m": 1.0, "ft": 0.3048, "km": 1000.0, "mi": 1609.344}

# Unit spellings (English and Greek) -> canonical unit: the shared table, not a copy.
UNIT_ALIASES = UNITS


def to_metres(value: float, unit: str) -> float:
    return value * TO_METRES[unit]


def from_metres(value_m: float, unit: str) -> float:
    return value_m / TO_METRES[unit]


def ppm_to_mg_m3(ppm: float, mw: float) -> float:
    return ppm * mw / MOLAR_VOLUME_L


def mg_m3_to_ppm(mg_m3: float, mw: float) -> float:
    return mg_m3 * MOLAR_VOLUME_L / mw


def convert_concentration(value: float, unit: str, to: str, mw: float | None) -> float | None:
    """Convert between 'ppm' and 'mg/m3'; None when a conversion needs an unknown MW."""
    if unit == to:
        return value
    if mw is None or mw <= 0:
        return None
    if unit == "ppm" and to == "mg/m3":
        return ppm_to_mg_m3(value, mw)
    if unit == "mg/m3" and to == "ppm":
        return mg_m3_to_ppm(value, mw)
    raise ValueError(f"unknown concentration units {unit!r} -> {to!r}")
