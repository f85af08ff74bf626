"""Input and output guardrails: injection, jailbreaks, PII, size, unsafe advice, markup.

Plain functions for the API, CLI, RAG layer and agents; the chain links live in `middleware`.
"""

from crisis_mas.safety.guard.pii import redact_pii
from crisis_mas.safety.guard.rails import check_input, check_output, check_passage
from crisis_mas.safety.guard.types import GuardResult

__all__ = ["GuardResult", "check_input", "check_output", "check_passage", "redact_pii"]
