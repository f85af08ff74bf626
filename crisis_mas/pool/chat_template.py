"""Renders chat messages to the base model's prompt text, identically for every local backend."""

from __future__ import annotations

from typing import Any

from crisis_mas.pool.types import ChatMessage, GenerationRequest


def render_chat(
    tokenizer: Any, messages: list[ChatMessage], add_generation_prompt: bool = True
) -> str:
    return tokenizer.apply_chat_template(
        [m.model_dump() for m in messages],
        tokenize=False,
        add_generation_prompt=add_generation_prompt,
    )


def prompt_text(tokenizer: Any, request: GenerationRequest) -> str:
    """The text a generation request is decoded from: the chat template plus any prefilled
    answer start, or the raw prompt of a plain completion."""
    if request.raw_prompt:
        return "".join(m.content for m in request.messages)
    return render_chat(tokenizer, request.messages) + request.assistant_prefix


def continuation_token_ids(
    tokenizer: Any, context_text: str, continuation: str
) -> tuple[list[int], list[int]]:
    """Token ids of the context and of the continuation, tokenised separately.

    Separate tokenisation keeps the boundary exact, so only the continuation's tokens are scored.
    """
    ctx = tokenizer.encode(context_text, add_special_tokens=False)
    cont = tokenizer.encode(continuation, add_special_tokens=False)
    return ctx, cont
