"""The `input_guard` and `output_guard` chain links.

Input: every user message is checked (size, injection, jailbreak, harmful request) and its PII
is redacted before the model sees it. An assessment's user message is three texts by three
authors, each judged as what it is: the operator's scenario (input rails), the retrieved
passages (passage rails; `PASSAGES_TAG` gives their span) and our own correction after a
grounding requery (after `grounding.CUT_TAG`: quoted model output, not checked as input).
Under the `block` policy a request with a blocking flag is answered here with `blocked=True`
and a one-line reason (and logged); under `warn` it passes on with its flags attached to the
result. Output: results are annotated with unsafe-advice, markup-injection and
HAZMAT-contradiction flags; active markup is stripped when configured.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from crisis_mas.middleware.chain import CallNext, Middleware, Op
from crisis_mas.middleware.grounding import CUT_TAG
from crisis_mas.pool.types import ChatMessage, GenerationRequest, GenerationResult
from crisis_mas.safety.config import GuardConfig
from crisis_mas.safety.guard.output import sanitize_markup
from crisis_mas.safety.guard.pii import redact_pii
from crisis_mas.safety.guard.rails import check_input, check_output, check_passage
from crisis_mas.safety.guard.types import BLOCKING_TYPES

if TYPE_CHECKING:
    from crisis_mas.middleware.config import OpsConfig

log = logging.getLogger("crisis_mas.guard")
# "start:end" of the retrieved passages (the REFERENCES block) in a request's last user message;
# set by the assessor (`assess.generation`), never by an API client.
PASSAGES_TAG = "guard_passages"


def message_parts(request: GenerationRequest, index: int) -> tuple[str, str]:
    """(operator text, retrieved passages) of user message `index`: the last user message of a
    tagged request loses our correction (after CUT_TAG) and its passages span; others are whole."""
    text = request.messages[index].content
    last = max(i for i, m in enumerate(request.messages) if m.role == "user")
    if index != last:
        return text, ""
    cut = request.tags.get(CUT_TAG, "")
    if cut.isdigit():
        text = text[: int(cut)]
    a, _, b = request.tags.get(PASSAGES_TAG, "").partition(":")
    if a.isdigit() and b.isdigit() and int(a) <= int(b) <= len(text):
        return text[: int(a)] + text[int(b) :], text[int(a) : int(b)]
    return text, ""


def _merge_flags(existing: list[dict], new: list[dict]) -> list[dict]:
    """Append flags not already present (two links may both report the same HAZMAT figure)."""

    def key(f: dict) -> tuple:
        return (f.get("type"), f.get("reason"), f.get("property"), f.get("stated"))

    seen = {key(f) for f in existing}
    return [*existing, *(f for f in new if key(f) not in seen)]


class InputGuardLink(Middleware):
    """Screens user messages of generation calls; scoring re-reads an answer already screened."""

    name = "input_guard"
    ops = frozenset({"generate"})

    def __init__(self, config: GuardConfig | None = None):
        self.config = config or GuardConfig()
        self._lock = threading.Lock()
        self.counts = {"checked": 0, "blocked": 0, "flagged": 0, "redacted": 0}

    def screen(self, request: GenerationRequest) -> tuple[GenerationRequest, list[dict]]:
        """The request with PII redacted in its user messages, and all input flags."""
        flags: list[dict] = []
        messages: list[ChatMessage] = []
        changed = False
        for i, m in enumerate(request.messages):
            if m.role != "user":
                messages.append(m)
                continue
            operator, passages = message_parts(request, i)
            res = check_input(operator, self.config)
            flags += res.flags
            if passages:
                flags += check_passage(passages, self.config).flags
            redacted = m.content
            if self.config.redact_pii:  # the whole message (the input rail redacted its part)
                if operator == m.content and res.redacted is not None:
                    redacted = res.redacted
                else:
                    redacted = redact_pii(m.content, self.config.pii_types)[0]
            if redacted != m.content:
                messages.append(ChatMessage(role=m.role, content=redacted))
                changed = True
            else:
                messages.append(m)
        if changed:
            request = request.model_copy(update={"messages": messages})
        return request, flags

    def _blocking(self, flags: list[dict]) -> list[dict]:
        return [
            f
            for f in flags
            if f["type"] in BLOCKING_TYPES and f["score"] >= self.config.block_threshold
        ]

    def around(
        self, op: Op, requests: list[GenerationRequest], call_next: CallNext
    ) -> list[GenerationResult]:
        answered: dict[int, GenerationResult] = {}
        passed: list[tuple[int, GenerationRequest, list[dict]]] = []
        for i, req in enumerate(requests):
            if req.tags.get("kind") in self.config.skip_kinds:
                passed.append((i, req, []))
                continue
            screened, flags = self.screen(req)
            blocking = self._blocking(flags)
            with self._lock:
                self.counts["checked"] += 1
                self.counts["flagged"] += bool(flags)
                self.counts["redacted"] += screened is not req
            if blocking and self.config.policy == "block":
                reason = "; ".join(dict.fromkeys(f["reason"] for f in blocking))
                log.warning(
                    "input guard blocked request %s (run %s, expert %s): %s",
                    req.request_id,
                    req.tags.get("run_id", "-"),
                    req.tags.get("expert", "-"),
                    reason,
                )
                with self._lock:
                    self.counts["blocked"] += 1
                answered[i] = GenerationResult(
                    request_id=req.request_id,
                    text=f"[blocked by input guard: {reason}]",
                    blocked=True,
                    flags=flags,
                    finish_reason="blocked",
                )
                continue
            passed.append((i, screened, flags))
        results = call_next([r for _, r, _ in passed]) if passed else []
        for (i, _, flags), res in zip(passed, results, strict=True):
            answered[i] = (
                res.model_copy(update={"flags": _merge_flags(res.flags, flags)}) if flags else res
            )
        return [answered[i] for i in range(len(requests))]

    def health(self) -> dict:
        return {"ok": True, "policy": self.config.policy, **self.counts}


class OutputGuardLink(Middleware):
    """Flags (and sanitises) generated text; scores carry no text to check."""

    name = "output_guard"
    ops = frozenset({"generate"})

    def __init__(self, config: GuardConfig | None = None, hazmat: bool = True):
        self.config = config or GuardConfig()
        self.hazmat = hazmat
        self._lock = threading.Lock()
        self.counts = {"checked": 0, "flagged": 0, "sanitized": 0}

    def annotate(self, result: GenerationResult, tags: dict[str, str]) -> GenerationResult:
        if result.blocked:
            return result
        has_hazmat = any(f.get("type") == "hazmat_contradiction" for f in result.flags)
        res = check_output(result.text, tags, self.config, hazmat=self.hazmat and not has_hazmat)
        update: dict = {}
        flags = res.flags
        if self.config.sanitize_output_markup and any(
            f["type"] == "markup_injection" for f in flags
        ):
            clean = sanitize_markup(result.text)
            if clean != result.text:
                update["text"] = clean
                flags = [
                    {**f, "action": "sanitized"} if f["type"] == "markup_injection" else f
                    for f in flags
                ]
        with self._lock:
            self.counts["checked"] += 1
            self.counts["flagged"] += bool(flags)
            self.counts["sanitized"] += "text" in update
        if flags:
            update["flags"] = _merge_flags(result.flags, flags)
        return result.model_copy(update=update) if update else result

    def around(
        self, op: Op, requests: list[GenerationRequest], call_next: CallNext
    ) -> list[GenerationResult]:
        results = call_next(requests)
        tags = {r.request_id: r.tags for r in requests}
        return [
            self.annotate(
                res, tags.get(res.request_id, requests[i].tags if i < len(requests) else {})
            )
            for i, res in enumerate(results)
        ]

    def health(self) -> dict:
        return {"ok": True, **self.counts}


def input_guard_link(ops: OpsConfig, model_base: str) -> InputGuardLink:
    """Factory named in `crisis_mas.middleware.chain.LINKS['input_guard']`."""
    return InputGuardLink(ops.guard)


def output_guard_link(ops: OpsConfig, model_base: str) -> OutputGuardLink:
    """Factory named in `crisis_mas.middleware.chain.LINKS['output_guard']`. HAZMAT contradictions
    are left to the `hazmat` link when that link is in the chain too."""
    return OutputGuardLink(ops.guard, hazmat="hazmat" not in ops.chain)
