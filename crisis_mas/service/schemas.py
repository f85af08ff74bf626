"""Request and response bodies of the HTTP API (they also document it at `/docs`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from crisis_mas.pool.types import MAX_SEED
from crisis_mas.scenario import Ident, Scenario


class AssessmentRequest(BaseModel):
    """`POST /v1/assessments`: a scenario (same schema as scenario files) and optional experts."""

    model_config = ConfigDict(extra="forbid")

    scenario: Scenario
    experts: list[Ident] | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Expert ids, e.g. ['fire', 'police']; omitted: selected from the scenario.",
    )


class JobAccepted(BaseModel):
    job_id: str
    status: str = "queued"
    status_url: str
    events_url: str


class JobView(BaseModel):
    job_id: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    scenario_id: str
    created_at: float
    updated_at: float
    run_id: str | None = None
    error: str | None = None
    error_status: int | None = None
    report: dict[str, Any] | None = None


class JobList(BaseModel):
    jobs: list[JobView]


class ChatMessageIn(BaseModel):
    """An OpenAI chat message; `content` may be a string or a list of text parts ("developer"
    is OpenAI's newer name for "system")."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "developer", "user", "assistant"]
    content: str
    name: str | None = Field(default=None, max_length=64)

    @field_validator("role", mode="after")
    @classmethod
    def _developer_is_system(cls, v: str) -> str:
        return "system" if v == "developer" else v

    @field_validator("content", mode="before")
    @classmethod
    def _text_parts(cls, v: Any) -> Any:
        if isinstance(v, list):
            texts = []
            for part in v:
                if not isinstance(part, dict) or part.get("type") != "text":
                    raise ValueError("only text content parts are supported")
                texts.append(str(part.get("text", "")))
            return "".join(texts)
        return v


class StreamOptions(BaseModel):
    """`stream_options`: `include_usage` adds a last chunk with the token counts."""

    model_config = ConfigDict(extra="forbid")

    include_usage: bool = False


# OpenAI request fields this server knows but does not implement, with the values that mean
# "feature off" (accepted, since some clients always send them). Anything else is refused with a
# message naming the field, instead of being silently ignored.
_NEUTRAL: dict[str, tuple[Any, ...]] = {
    "frequency_penalty": (None, 0, 0.0),
    "presence_penalty": (None, 0, 0.0),
    "logit_bias": (None, {}),
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "tools": (None, []),
    "tool_choice": (None, "none"),
    "parallel_tool_calls": (None,),
    "functions": (None, []),
    "function_call": (None, "none"),
    "response_format": (None, {"type": "text"}),
    "modalities": (None, ["text"]),
    "audio": (None,),
    "prediction": (None,),
    "reasoning_effort": (None,),
    "service_tier": (None, "auto", "default"),
    "store": (None, False),
    "metadata": (None, {}),
    "web_search_options": (None,),
    "echo": (None, False),
    "suffix": (None, ""),
    "best_of": (None, 1),
}


def _refuse_unsupported(name: str, value: Any) -> Any:
    if value not in _NEUTRAL[name]:
        raise ValueError(f"not supported by this server (send it unset); got {value!r}")
    return value


class OpenAIRequestBase(BaseModel):
    """Sampling fields shared by chat and plain completions (the subset the engine honours)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        min_length=1,
        description="An expert id (served with its LoRA adapter), the base model id, or "
        "'<base>:<expert>'.",
    )
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description="0 to 2**63-1.")
    stop: str | list[str] | None = Field(default=None, description="Up to 4 stop strings.")
    n: int = Field(default=1, ge=1, le=1, description="Only n=1 is supported.")
    stream: bool = Field(default=False, description="Server-sent events, OpenAI chunk format.")
    stream_options: StreamOptions | None = None
    # vLLM extension; the small embedded model loops without one.
    repetition_penalty: float | None = Field(default=None, ge=1.0, le=2.0)
    user: str | None = Field(default=None, max_length=256, description="Caller id, for logs.")
    # Known OpenAI fields without an implementation here: refused unless neutral.
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: Any = None
    top_logprobs: int | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: str | None = None

    @field_validator(
        "frequency_penalty",
        "presence_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "metadata",
        "store",
        "service_tier",
    )
    @classmethod
    def _unsupported(cls, v: Any, info: ValidationInfo) -> Any:
        return _refuse_unsupported(str(info.field_name), v)

    @field_validator("stop")
    @classmethod
    def _stops(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list) and len(v) > 4:
            raise ValueError("at most 4 stop strings")
        return v

    @model_validator(mode="after")
    def _stream_options_need_stream(self) -> OpenAIRequestBase:
        if self.stream_options is not None and not self.stream:
            raise ValueError("stream_options: only allowed with stream=true")
        return self

    def stop_list(self) -> list[str]:
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])


class ChatCompletionRequest(OpenAIRequestBase):
    """`POST /v1/chat/completions`: the OpenAI chat-completions subset we serve."""

    messages: list[ChatMessageIn] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    tools: list[Any] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    functions: list[Any] | None = None
    function_call: Any = None
    response_format: dict[str, Any] | None = None
    modalities: list[str] | None = None
    audio: Any = None
    prediction: Any = None
    reasoning_effort: str | None = None
    web_search_options: Any = None

    @field_validator(
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "functions",
        "function_call",
        "response_format",
        "modalities",
        "audio",
        "prediction",
        "reasoning_effort",
        "web_search_options",
    )
    @classmethod
    def _unsupported_chat(cls, v: Any, info: ValidationInfo) -> Any:
        return _refuse_unsupported(str(info.field_name), v)

    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class CompletionRequest(OpenAIRequestBase):
    """`POST /v1/completions`: a plain-text continuation of `prompt` (no chat template)."""

    prompt: str | list[str] = Field(description="One prompt (a list must hold exactly one).")
    max_tokens: int | None = Field(default=16, ge=1)
    echo: bool | None = None
    suffix: str | None = None
    best_of: int | None = None

    @field_validator("echo", "suffix", "best_of")
    @classmethod
    def _unsupported_completion(cls, v: Any, info: ValidationInfo) -> Any:
        return _refuse_unsupported(str(info.field_name), v)

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list) and len(v) != 1:
            raise ValueError("exactly one prompt is supported (batch prompts are not)")
        text = v if isinstance(v, str) else v[0]
        if not text:
            raise ValueError("must not be empty")
        return v

    def prompt_text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]

    def token_limit(self) -> int | None:
        return self.max_tokens
