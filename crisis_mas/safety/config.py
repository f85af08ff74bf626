"""Settings of the safety links (input/output guardrails, HAZMAT fact validation)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PII_TYPES = ("email", "phone", "amka", "afm", "id_card", "iban", "card")


class GuardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # block: refuse a request whose flags reach `block_threshold`; warn: pass it on, flagged.
    policy: Literal["block", "warn"] = "block"
    block_threshold: float = Field(default=0.8, ge=0, le=1)
    # User content longer than this is refused (block) or flagged (warn) before the model sees it.
    max_input_chars: int = Field(default=32_000, ge=100)
    # Redact PII in user content in place (the model never sees it); types from PII_TYPES.
    redact_pii: bool = True
    pii_types: list[str] = Field(default_factory=lambda: list(PII_TYPES))
    # Request kinds (tag `kind`) the input rails skip entirely, e.g. trusted internal prompts.
    skip_kinds: list[str] = Field(default_factory=list)
    # Output rails: strip active markup (script, iframe, javascript: links) from results.
    sanitize_output_markup: bool = True
    # Injection detectors on inputs and passages: the rules, the learned model
    # (safety/guard/learned.py) or both (blocked when either reaches its threshold).
    detector: Literal["rules", "model", "both"] = "both"
    # Model probability at which its flag reaches `block_threshold`; None: the thresholds
    # calibrated at training time (one per head, in injection_model.json).
    model_threshold: float | None = Field(default=None, gt=0, lt=1)
    # Weights of the learned detector (.npz with its .json beside it); None: the shipped ones.
    model_path: str | None = Field(default=None, min_length=1)


class HazmatConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # Request kinds (tag `kind`) whose results are validated; requests without a kind always are.
    kinds: list[str] = Field(default_factory=lambda: ["assessment", "chat"])
    # Also attach low-score `hazmat_unverified` flags for claims no table can confirm.
    flag_unknown: bool = False


class GroundingConfig(BaseModel):
    """The `grounding` chain link (`ops.grounding`)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # Request kinds (tag `kind`) whose answers are checked; requests without a kind are not.
    kinds: list[str] = Field(default_factory=lambda: ["assessment"])
    # Ask an expert once more, told which items were ungrounded (like the HAZMAT re-query).
    requery: bool = True
    # Re-ask only when at least this many claims of an answer are ungrounded.
    requery_min_ungrounded: int = Field(default=1, ge=1)
