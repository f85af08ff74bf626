"""The OpenAI-compatible surface: `GET /v1/models`, `POST /v1/chat/completions` and
`POST /v1/completions`, plain or streamed (`stream: true`, server-sent events in OpenAI's chunk
format). `model` is an expert id (served with its adapter), the base model id, or
`<base>:<expert>`. Every call runs through the middleware chain (guard, cache, metrics, tracing)
on the same model pool as assessments."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from crisis_mas.pool.types import AdapterRef, ChatMessage, GenerationRequest, SamplingConfig
from crisis_mas.service.errors import ApiError
from crisis_mas.service.routers.openai_stream import (
    ChunkFormat,
    extension,
    finish_reason,
    stream_generation,
    usage,
)
from crisis_mas.service.schemas import (
    ChatCompletionRequest,
    CompletionRequest,
    OpenAIRequestBase,
)
from crisis_mas.service.state import MODEL_REPLICAS_HEADER, ApiState, guard_input


def openai_router(state: ApiState) -> APIRouter:
    """Routes bound to the shared `ApiState`."""
    router = APIRouter()
    settings, cfg = state.settings, state.config

    def _models() -> list[dict[str, Any]]:
        created = state.started
        base = cfg.model.base
        out = [
            {
                "id": base,
                "object": "model",
                "created": created,
                "owned_by": "crisis-mas",
                "root": base,
                "parent": None,
            }
        ]
        for expert, ref in sorted(state.assessor.adapters.items()):
            out.append(
                {
                    "id": expert,
                    "object": "model",
                    "created": created,
                    "owned_by": "crisis-mas",
                    "root": base,
                    "parent": base,
                    "adapter": ref.name,
                }
            )
        return out

    def _resolve(model: str) -> tuple[str, AdapterRef | None]:
        """(expert label, adapter) for `model`: the base, an expert id, or `<base>:<expert>`."""
        adapters, base = state.assessor.adapters, cfg.model.base
        if model == base:
            return "base", None
        name = model.removeprefix(base + ":") if model.startswith(base + ":") else model
        if name in adapters:
            return name, adapters[name]
        known = ", ".join([base, *sorted(adapters)])
        raise ApiError(
            422,
            f"model: unknown model '{model}' (available: {known}; or '<base>:<expert>')",
            "model_not_found",
            "model",
        )

    def _request(
        body: OpenAIRequestBase, messages: list[ChatMessage], kind: str, raw: bool
    ) -> GenerationRequest:
        expert, adapter = _resolve(body.model)
        limit = body.token_limit()  # type: ignore[attr-defined]
        if limit is not None and limit > settings.api.max_chat_tokens:
            raise ApiError(
                422,
                f"max_tokens: must be <= {settings.api.max_chat_tokens}",
                "invalid_request_error",
                "max_tokens",
            )
        base = cfg.model.sampling
        updates: dict[str, Any] = {
            "max_tokens": limit or min(base.max_tokens, settings.api.max_chat_tokens),
            "stop": body.stop_list(),
        }
        for name in ("temperature", "top_p", "seed", "repetition_penalty"):
            if getattr(body, name) is not None:
                updates[name] = getattr(body, name)
        return GenerationRequest(
            messages=messages,
            adapter=adapter,
            sampling=SamplingConfig.model_validate({**base.model_dump(), **updates}),
            raw_prompt=raw,
            tags={"kind": kind, "expert": expert},
        )

    async def _answer(request: GenerationRequest, where: str) -> tuple[Any, list[str]]:
        result, replicas = await state.in_thread(
            state.chat_threads, settings.api.model_timeout_s + 30, state.chat, request
        )
        if result.blocked:
            raise ApiError(
                400, f"input blocked by guardrails: {result.text}", "input_blocked", where
            )
        return result, replicas

    @router.get("/v1/models", summary="The base model and one model per adapter")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": _models()}

    @router.post(
        "/v1/chat/completions",
        summary="OpenAI chat completion (stream: true for server-sent events); model = an "
        "expert id (its adapter), the base, or <base>:<expert>",
    )
    async def chat_completions(body: ChatCompletionRequest) -> Response:
        guard_input(state, [m.content for m in body.messages], "messages")
        messages = [ChatMessage(role=m.role, content=m.content) for m in body.messages]
        request = _request(body, messages, "chat", raw=False)
        if body.stream:
            usage_on = bool(body.stream_options and body.stream_options.include_usage)
            fmt = ChunkFormat("chat", body.model, usage_on)
            return await stream_generation(state, request, fmt, "messages")
        result, replicas = await _answer(request, "messages")
        payload = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result.text},
                    "finish_reason": finish_reason(result),
                    "logprobs": None,
                }
            ],
            "usage": usage(result),
            "crisis_mas": extension(result),
        }
        return JSONResponse(payload, headers={MODEL_REPLICAS_HEADER: ",".join(replicas)})

    @router.post(
        "/v1/completions",
        summary="OpenAI (legacy) text completion: the prompt continued as-is, no chat template",
    )
    async def completions(body: CompletionRequest) -> Response:
        prompt = body.prompt_text()
        guard_input(state, [prompt], "prompt")
        messages = [ChatMessage(role="user", content=prompt)]
        request = _request(body, messages, "completion", raw=True)
        if body.stream:
            usage_on = bool(body.stream_options and body.stream_options.include_usage)
            fmt = ChunkFormat("completion", body.model, usage_on)
            return await stream_generation(state, request, fmt, "prompt")
        result, replicas = await _answer(request, "prompt")
        payload = {
            "id": f"cmpl-{uuid.uuid4().hex[:24]}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "text": result.text,
                    "finish_reason": finish_reason(result),
                    "logprobs": None,
                }
            ],
            "usage": usage(result),
            "crisis_mas": extension(result),
        }
        return JSONResponse(payload, headers={MODEL_REPLICAS_HEADER: ",".join(replicas)})

    return router
