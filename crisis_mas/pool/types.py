"""The currency of the model pool: adapters, chat messages, requests and results.

`AdapterRef(name, id, path)` mirrors vLLM's `LoRARequest(lora_name, lora_int_id, lora_path)`
so every
backend speaks about adapters the same way; the vLLM backend converts it one-to-one.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class AdapterRef(BaseModel):
    """A LoRA adapter on local disk, named and numbered the way vLLM expects: `id` is unique per
    name across processes and nodes (`crisis_mas.pool.adapters.lora_ids`)."""

    model_config = ConfigDict(frozen=True)

    name: str
    id: int = Field(ge=1)
    path: str


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


MAX_SEED = 2**63 - 1  # engines seed a 64-bit generator; larger seeds overflow there


class SamplingConfig(BaseModel):
    """Decoding settings; defaults suit the small embedded model (it loops without a penalty)."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int = Field(default=192, ge=1, le=8192)
    temperature: float = Field(default=0.0, ge=0, le=2)
    top_p: float = Field(default=1.0, gt=0, le=1)
    repetition_penalty: float = Field(default=1.2, ge=1.0, le=2.0)
    seed: int | None = Field(default=0, ge=0, le=MAX_SEED)
    stop: list[str] = Field(default_factory=list, max_length=16)
    # Keep decoding past the end-of-sequence token (benchmarks: equal token counts per mode).
    ignore_eos: bool = False
    # Constrained decoding: the answer is exactly one of these strings (vLLM structured outputs
    # `choice`; greedy decoding over the options' tokens on transformers; `structured_outputs` /
    # `guided_choice` for OpenAI-compatible vLLM servers). None: free text.
    choices: list[str] | None = Field(default=None, min_length=1, max_length=2000)

    @field_validator("choices")
    @classmethod
    def _bounded_choices(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and any(not c or len(c) > 500 for c in v):
            raise ValueError("each choice must be 1-500 characters")
        return v


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


class GenerationRequest(BaseModel):
    """One chat completion: messages, an optional adapter, and sampling settings."""

    request_id: str = Field(default_factory=_new_id)
    messages: list[ChatMessage]
    adapter: AdapterRef | None = None
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    # Text the assistant's answer starts with (prefilled after the generation prompt); the result
    # text includes it. Anchors the trained answer format ("Rationale:") on unfamiliar prompts.
    assistant_prefix: str = ""
    # A plain-text completion (`/v1/completions`): the messages' contents are the prompt as-is,
    # without the chat template.
    raw_prompt: bool = False
    # Labels for the middleware (expert id, run id, request kind); never sent to the model.
    tags: dict[str, str] = Field(default_factory=dict)


class GenerationResult(BaseModel):
    request_id: str
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    finish_reason: str | None = None
    cached: bool = False
    # Set by middleware that refused the call (guard block); the text is then a refusal notice.
    blocked: bool = False
    flags: list[dict] = Field(default_factory=list)


class ScoreRequest(BaseModel):
    """Log-likelihood of each continuation after the rendered chat prompt plus `prefix`.

    Used to turn an expert's view into a belief distribution over valid alternative ids by
    construction: the model can only spread probability over the continuations we give it.
    """

    request_id: str = Field(default_factory=_new_id)
    messages: list[ChatMessage]
    prefix: str = ""
    continuations: list[str] = Field(min_length=1)
    adapter: AdapterRef | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class ScoreResult(BaseModel):
    request_id: str
    # Sum of token log-probabilities of each continuation, and its token count (same order).
    logprobs: list[float]
    token_counts: list[int]
    prompt_tokens: int = 0
    latency_ms: float = 0.0


CANDIDATE_NAME = re.compile(r"^(?P<expert>.+)@v(?P<version>[0-9]+)$")


def candidate_name(expert: str, version: int) -> str:
    """A rollout candidate's adapter name (`expert@vN`); its int id comes from the store."""
    return f"{expert}@v{version}"


def is_candidate(adapter: AdapterRef) -> bool:
    """A rollout candidate's adapter (`expert@vN`) with its files on disk (pools may load it on
    first use)."""
    on_disk = (Path(adapter.path) / "adapter_config.json").is_file()
    return CANDIDATE_NAME.match(adapter.name) is not None and on_disk


class ModelInfo(BaseModel):
    base: str
    backend: str
    adapters: list[str] = Field(default_factory=list)
    # The pool also loads rollout candidates (`expert@vN`) from disk on first use, so a rollout
    # started after the pool came up can run without a restart.
    loads_candidates: bool = False
