"""The rail checks the API, CLI, RAG layer and middleware call: input, passage and output.

Each returns a `GuardResult(allowed, flags)`. Blocking is decided by `GuardConfig`: a flag of a
blocking type (injection, jailbreak, exfiltration, encoded payload, harmful request, size) at or
above `block_threshold` makes the text not allowed; PII is redacted, never a reason to refuse.
Injection is judged by the rules, the learned model or both (`GuardConfig.detector`); every
injection flag names its `detector`.
"""

from __future__ import annotations

from crisis_mas.safety.config import GuardConfig
from crisis_mas.safety.guard.harm import harmful_flags
from crisis_mas.safety.guard.injection import detect
from crisis_mas.safety.guard.learned import get_model
from crisis_mas.safety.guard.output import markup_flags, unsafe_advice_flags
from crisis_mas.safety.guard.passages import passage_flags
from crisis_mas.safety.guard.pii import redact_pii
from crisis_mas.safety.guard.types import GuardResult, decide, make_flag

_DEFAULT = GuardConfig()
_MODEL_TYPE = {"direct": "prompt_injection", "indirect": "indirect_injection"}


def _rules(flags: list[dict]) -> list[dict]:
    return [{**f, "detector": "rules"} for f in flags]


def model_flags(text: str, head: str, cfg: GuardConfig) -> list[dict]:
    """The learned detector's flag for `text` (empty below its threshold). The score is the
    probability rescaled so it reaches `block_threshold` exactly at the model's threshold."""
    model = get_model(cfg.model_path)
    s = model.score(text, head)
    t = cfg.model_threshold if cfg.model_threshold is not None else model.heads[head].threshold
    if s.probability < t:
        return []
    b = cfg.block_threshold
    score = b + (1.0 - b) * (s.probability - t) / max(1e-9, 1.0 - t)
    what = "direct injection or jailbreak" if head == "direct" else "an instruction planted"
    return [
        make_flag(
            _MODEL_TYPE[head],
            min(score, 0.99),
            f"learned detector: {what} (p={s.probability:.2f} >= {t:g})",
            detector="model",
            probability=round(s.probability, 4),
            threshold=t,
            window=redact_pii(s.window[:160])[0],  # flags never carry PII
        )
    ]


def check_input(text: str, config: GuardConfig | None = None) -> GuardResult:
    """Input rails: size limit, direct injection/jailbreak, harmful requests, PII (redacted)."""
    cfg = config or _DEFAULT
    text = text or ""
    flags: list[dict] = []
    if len(text) > cfg.max_input_chars:
        flags.append(
            make_flag(
                "size_limit",
                1.0,
                f"input is {len(text)} characters, over the {cfg.max_input_chars} limit",
            )
        )
    scan = text[: cfg.max_input_chars]
    if cfg.detector in ("rules", "both"):
        flags += _rules(detect(scan))
    if cfg.detector in ("model", "both"):
        flags += model_flags(scan, "direct", cfg)
    flags += _rules(harmful_flags(scan))
    redacted = None
    if cfg.redact_pii:
        redacted, pii = redact_pii(text, cfg.pii_types)
        flags += pii
    return GuardResult(allowed=decide(flags, cfg.block_threshold), flags=flags, redacted=redacted)


def check_passage(text: str, config: GuardConfig | None = None) -> GuardResult:
    """Indirect injection planted in a retrieved passage; the RAG layer drops flagged ones."""
    cfg = config or _DEFAULT
    scan = (text or "")[: cfg.max_input_chars]
    flags: list[dict] = []
    if cfg.detector in ("rules", "both"):
        flags += _rules(passage_flags(scan))
    if cfg.detector in ("model", "both") and scan.strip():
        flags += model_flags(scan, "indirect", cfg)
    return GuardResult(allowed=decide(flags, cfg.block_threshold), flags=flags)


def check_output(
    text: str,
    context: dict | None = None,
    config: GuardConfig | None = None,
    hazmat: bool = True,
) -> GuardResult:
    """Output rails: unsafe advice against the scenario facts, HAZMAT contradictions (from the
    hazmat validator, with `context` giving the default substance), markup/code injection.

    `allowed` is False when a flag reaches the block threshold; output links only annotate.
    """
    cfg = config or _DEFAULT
    text = text or ""
    flags = unsafe_advice_flags(text, context) + markup_flags(text)
    if hazmat:
        from crisis_mas.safety.hazmat import validate_text

        flags += [f.to_flag() for f in validate_text(text, context) if f.verdict == "contradicts"]
    allowed = not any(f["score"] >= cfg.block_threshold for f in flags)
    return GuardResult(allowed=allowed, flags=flags)


__all__ = ["check_input", "check_output", "check_passage", "model_flags", "redact_pii"]
