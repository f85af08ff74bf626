"""The guard's result type and flag helpers shared by every rail."""

from __future__ import annotations

from pydantic import BaseModel, Field

# Flag types that may block a request (PII is redacted, never a reason to refuse).
BLOCKING_TYPES = frozenset(
    {
        "prompt_injection",
        "jailbreak",
        "system_prompt_exfiltration",
        "encoded_payload",
        "indirect_injection",
        "harmful_request",
        "size_limit",
    }
)


class GuardResult(BaseModel):
    """Verdict of one rail check. `redacted` is the text with PII replaced (input checks)."""

    allowed: bool
    flags: list[dict] = Field(default_factory=list)
    redacted: str | None = None

    def public(self) -> dict:
        return {"allowed": self.allowed, "flags": self.flags}


def make_flag(type_: str, score: float, reason: str, **extra: object) -> dict:
    return {"type": type_, "score": round(float(score), 3), "reason": reason, **extra}


def combine(scores: list[float]) -> float:
    """Noisy-OR of independent pieces of evidence: two weak signals make a strong one."""
    p = 1.0
    for s in scores:
        p *= 1.0 - max(0.0, min(1.0, s))
    return 1.0 - p


def decide(flags: list[dict], threshold: float) -> bool:
    """True (allowed) unless a blocking-type flag reaches the threshold."""
    return not any(f["type"] in BLOCKING_TYPES and f["score"] >= threshold for f in flags)
