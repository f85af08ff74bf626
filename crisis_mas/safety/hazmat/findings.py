"""A HAZMAT finding (one checked claim and its verdict), the tolerances verdicts use, and the
correction text an expert is re-asked with."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

IDLH_TOLERANCE = 0.05
DISTANCE_TOLERANCE = 0.10

Verdict = Literal["consistent", "contradicts", "unknown"]
PROPERTY_LABEL = {
    "idlh": "IDLH",
    "guide": "ERG guide",
    "isolation_distance": "initial isolation distance",
    "protective_distance": "protective action distance",
    "un_number": "UN number",
    "cas_number": "CAS number",
}


class Finding(BaseModel):
    """One checked claim. `reference`/`source` name the figure the verdict rests on."""

    substance: str | None
    un_number: str | None
    property: str
    stated: str
    reference: str | None
    verdict: Verdict
    source: str | None
    reason: str = ""
    stated_value: float | None = None
    stated_unit: str | None = None
    reference_value: float | None = None
    reference_unit: str | None = None
    # "less_protective" when the stated figure is the unsafe side (higher IDLH, shorter distance).
    direction: str | None = None
    span: tuple[int, int] | None = None

    def public(self) -> dict:
        """The CLI/API shape: the seven contract fields plus the reason."""
        keys = (
            "substance",
            "un_number",
            "property",
            "stated",
            "reference",
            "verdict",
            "source",
            "reason",
        )
        return {k: getattr(self, k) for k in keys}

    def to_flag(self) -> dict:
        """A middleware flag (type hazmat_contradiction) carrying the finding's fields."""
        score = 0.95 if self.direction == "less_protective" else 0.85
        return {
            "type": "hazmat_contradiction",
            "score": score,
            "reason": self.reason,
            **{k: v for k, v in self.public().items() if k != "reason"},
        }


def format_corrections(findings: list[Finding]) -> str:
    """Feedback lines for re-asking an expert: one per contradicted figure."""
    lines = []
    for f in findings:
        if f.verdict != "contradicts":
            continue
        who = f.substance or "the substance"
        if f.un_number:
            who += f" ({f.un_number})"
        label = PROPERTY_LABEL.get(f.property, f.property)
        # Reference first, rejected figure after "not": re-validating this text (or an answer
        # that repeats it) finds only the correct value.
        lines.append(f"- {who}: the {label} is {f.reference} ({f.source}), not {f.stated}.")
    return "\n".join(lines)
