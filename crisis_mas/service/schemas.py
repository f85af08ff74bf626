"""Request and response bodies of the HTTP API (they also document it at `/docs`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crisis_mas.scenario import Scenario


class AssessmentRequest(BaseModel):
    """`POST /v1/assessments`: a scenario (same schema as scenario files) and optional experts."""

    model_config = ConfigDict(extra="forbid")

    scenario: Scenario
    experts: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Expert ids, e.g. ['fire', 'police']; omitted: selected from the scenario.",
    )


class JobAccepted(BaseModel):
    job_id: str
    status: str = "queued"
    status_url: str


class JobView(BaseModel):
    job_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    scenario_id: str
    created_at: float
    updated_at: float
    run_id: str | None = None
    error: str | None = None
    error_status: int | None = None
    report: dict[str, Any] | None = None


class ChatMessageIn(BaseModel):
    """An OpenAI chat message; `content` may be a string or a list of text parts."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant"]
    content: str

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


class ChatCompletionRequest(BaseModel):
    """The OpenAI chat-completions subset we serve. `model`: an expert id or the base model."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    messages: list[ChatMessageIn] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    n: int = Field(default=1, ge=1, le=1, description="Only n=1 is supported.")
    stream: bool = Field(default=False, description="Streaming is not supported.")
    # vLLM extension; the small embedded model loops without one.
    repetition_penalty: float | None = Field(default=None, ge=1.0, le=2.0)
    user: str | None = None

    @field_validator("stream")
    @classmethod
    def _no_stream(cls, v: bool) -> bool:
        if v:
            raise ValueError("streaming is not supported; send stream=false")
        return v
