"""What a scenario must pass before any retrieval or model call: the input size limit and the
input guard, on the text the experts would read.

The size is counted by walking the scenario's fields and stopping at the limit, so an oversized
description is refused in microseconds, before anything renders, embeds or copies it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from crisis_mas.config import AppConfig
from crisis_mas.errors import InputError
from crisis_mas.scenario import Scenario


def bounded_size(value: Any, limit: int) -> int:
    """Characters of every string in `value` (models, dicts, lists), counting stops past `limit`."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        v = stack.pop()
        if isinstance(v, str):
            total += len(v)
        elif isinstance(v, BaseModel):
            stack.extend(v.__dict__.values())
            stack.extend((v.__pydantic_extra__ or {}).values())
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple, set)):
            stack.extend(v)
    return total


def check_size(config: AppConfig, scenario: Scenario) -> None:
    """Raise InputError (exit 2 / HTTP 4xx) when the scenario's text is over the guard's
    `max_input_chars`: it could never reach a model, so nothing is spent on it."""
    limit = config.ops.guard.max_input_chars
    size = bounded_size(scenario, limit)
    if size > limit:
        raise InputError(
            f"scenario: its text is over the {limit}-character input limit "
            "(ops.guard.max_input_chars); shorten the description or raise the limit"
        )


def guard_block(config: AppConfig, scenario: Scenario) -> str | None:
    """The input guard's reason for refusing the scenario (None: allowed), judged on the prompt
    the experts would read, before retrieval. Off when the chain has no `input_guard` link or
    the guard only warns; the chain's own guard still screens every request."""
    guard = config.ops.guard
    if "input_guard" not in config.ops.chain or guard.policy != "block":
        return None
    from crisis_mas.experts.prompting import user_prompt
    from crisis_mas.safety.guard import check_input
    from crisis_mas.safety.guard.types import BLOCKING_TYPES

    res = check_input(user_prompt(scenario), guard)
    blocking = [
        f for f in res.flags if f["type"] in BLOCKING_TYPES and f["score"] >= guard.block_threshold
    ]
    if not blocking:
        return None
    reasons = "; ".join(dict.fromkeys(f"{f['type']}: {f.get('reason', '')}" for f in blocking))
    return f"the input guard blocked the scenario ({reasons})"
