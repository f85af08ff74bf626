"""The OpenAI-compatible surface: `GET /v1/models` and `POST /v1/chat/completions` (`model` is an
expert id, served with its adapter, or the base model)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from crisis_mas.pool.types import ChatMessage, GenerationRequest, SamplingConfig
from crisis_mas.service.errors import ApiError
from crisis_mas.service.schemas import ChatCompletionRequest
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

    @router.get("/v1/models", summary="The base model and one model per adapter")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": _models()}

    @router.post(
        "/v1/chat/completions",
        summary="OpenAI chat completion; model = an expert id (its adapter) or the base",
    )
    async def chat_completions(body: ChatCompletionRequest) -> Response:
        adapters = state.assessor.adapters
        if body.model != cfg.model.base and body.model not in adapters:
            known = ", ".join([cfg.model.base, *sorted(adapters)])
            raise ApiError(
                422,
                f"model: unknown model '{body.model}' (available: {known})",
                "model_not_found",
                "model",
            )
        max_tokens = body.max_completion_tokens or body.max_tokens
        if max_tokens is not None and max_tokens > settings.api.max_chat_tokens:
            raise ApiError(
                422,
                f"max_tokens: must be <= {settings.api.max_chat_tokens}",
                "invalid_request_error",
                "max_tokens",
            )
        guard_input(state, [m.content for m in body.messages], "messages")
        base = cfg.model.sampling
        updates: dict[str, Any] = {
            "max_tokens": max_tokens or min(base.max_tokens, settings.api.max_chat_tokens),
            "stop": [body.stop] if isinstance(body.stop, str) else list(body.stop or []),
        }
        for name in ("temperature", "top_p", "seed", "repetition_penalty"):
            if getattr(body, name) is not None:
                updates[name] = getattr(body, name)
        sampling = SamplingConfig.model_validate({**base.model_dump(), **updates})
        expert = body.model if body.model in adapters else "base"
        request = GenerationRequest(
            messages=[ChatMessage(role=m.role, content=m.content) for m in body.messages],
            adapter=adapters.get(body.model),
            sampling=sampling,
            tags={"kind": "chat", "expert": expert},
        )
        result, replicas = await state.in_thread(
            state.chat_threads, settings.api.model_timeout_s + 30, state.chat, request
        )
        if result.blocked:
            raise ApiError(
                400, f"input blocked by guardrails: {result.text}", "input_blocked", "messages"
            )
        finish = result.finish_reason if result.finish_reason in ("stop", "length") else "stop"
        payload = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result.text},
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens,
                "total_tokens": result.prompt_tokens + result.completion_tokens,
            },
            "crisis_mas": {
                "cached": result.cached,
                "flags": result.flags,
                "latency_ms": round(result.latency_ms, 1),
            },
        }
        return JSONResponse(payload, headers={MODEL_REPLICAS_HEADER: ",".join(replicas)})

    return router
