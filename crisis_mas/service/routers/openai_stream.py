"""Streamed OpenAI completions: the generation runs in a worker thread through the middleware
chain as usual, its text deltas come back through a `CallControl` sink as the model-pool replica
produces them, and leave as OpenAI chunks (role chunk, content deltas, a final chunk with
`finish_reason`, an optional usage chunk, `data: [DONE]`).

Errors before the first token (guard block, unknown adapter, model down) are ordinary HTTP
errors; after it, an `{"error": ...}` event ends the stream. A call answered without the engine
(a cache hit) arrives as one content chunk. A client that goes away cancels the engine request.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi.responses import Response

from crisis_mas.pool.types import GenerationRequest, GenerationResult
from crisis_mas.service.errors import ApiError
from crisis_mas.service.sse import DONE, error_event, sse, sse_response
from crisis_mas.service.state import MODEL_REPLICAS_HEADER, ApiState
from crisis_mas.service.streaming import CallControl, controlled


def finish_reason(result: GenerationResult) -> str:
    return result.finish_reason if result.finish_reason in ("stop", "length") else "stop"


def usage(result: GenerationResult) -> dict[str, int]:
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "total_tokens": result.prompt_tokens + result.completion_tokens,
    }


def extension(result: GenerationResult) -> dict[str, Any]:
    """What crisis-mas adds to a completion: cache hit, guard/HAZMAT flags, latency."""
    return {
        "cached": result.cached,
        "flags": result.flags,
        "latency_ms": round(result.latency_ms, 1),
    }


@dataclass
class ChunkFormat:
    """OpenAI's chunk shapes for chat (`chat.completion.chunk`) or text (`text_completion`)."""

    kind: Literal["chat", "completion"]
    model: str
    include_usage: bool = False
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:24])
    created: int = field(default_factory=lambda: int(time.time()))

    def _chunk(self, choice: dict[str, Any] | None, **extra: Any) -> str:
        chat = self.kind == "chat"
        body: dict[str, Any] = {
            "id": ("chatcmpl-" if chat else "cmpl-") + self.id,
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": [] if choice is None else [{"index": 0, "logprobs": None, **choice}],
            **extra,
        }
        if self.include_usage and "usage" not in body:
            body["usage"] = None
        return sse(body)

    def start(self) -> str | None:
        """The first chunk (chat: the assistant role; text completions have none)."""
        if self.kind != "chat":
            return None
        return self._chunk({"delta": {"role": "assistant", "content": ""}, "finish_reason": None})

    def delta(self, text: str) -> str:
        if self.kind == "chat":
            return self._chunk({"delta": {"content": text}, "finish_reason": None})
        return self._chunk({"text": text, "finish_reason": None})

    def end(self, result: GenerationResult) -> list[str]:
        """The final chunk (finish reason, crisis-mas flags), the usage chunk if asked, DONE."""
        empty: dict[str, Any] = {"delta": {}} if self.kind == "chat" else {"text": ""}
        out = [
            self._chunk(
                {**empty, "finish_reason": finish_reason(result)}, crisis_mas=extension(result)
            )
        ]
        if self.include_usage:
            out.append(self._chunk(None, usage=usage(result)))
        return [*out, DONE]


async def stream_generation(
    state: ApiState, request: GenerationRequest, fmt: ChunkFormat, where: str
) -> Response:
    """Run `request` with a delta sink and answer with its chunks as server-sent events."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    control = CallControl(
        on_delta=lambda text: loop.call_soon_threadsafe(queue.put_nowait, ("delta", text))
    )
    timeout_s = state.settings.api.model_timeout_s + 30
    deadline = time.monotonic() + timeout_s

    def work() -> tuple[GenerationResult, list[str]]:
        with controlled(control):
            return state.chat(request)

    done = loop.run_in_executor(state.chat_threads, work)

    def on_done(f: asyncio.Future) -> None:
        # Runs on the loop after every delta the worker scheduled (call_soon_threadsafe is FIFO).
        # Reading the exception marks it retrieved: a client that left mid-stream never reads
        # the result, and asyncio would log "Future exception was never retrieved".
        if not f.cancelled():
            f.exception()
        queue.put_nowait(("done", f))

    done.add_done_callback(on_done)

    async def next_item() -> tuple[str, Any]:
        try:
            return await asyncio.wait_for(queue.get(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            control.cancel()
            raise ApiError(
                503,
                f"no answer within {timeout_s:g} s; the model pool is overloaded or stuck",
                "model_unavailable",
            ) from None

    def finished(item: Any) -> tuple[GenerationResult, list[str]]:
        result, replicas = item.result()  # raises the worker's ApiError
        if result.blocked:
            raise ApiError(
                400, f"input blocked by guardrails: {result.text}", "input_blocked", where
            )
        return result, replicas

    # Wait for the first token (or the whole answer) before sending a status line, so errors
    # that happen before any text are plain HTTP errors.
    try:
        first = await next_item()
        ready = finished(first[1]) if first[0] == "done" else None
    except BaseException:
        control.cancel()
        raise

    async def events() -> AsyncIterator[str]:
        try:
            start = fmt.start()
            if start:
                yield start
            if ready is not None:  # answered without the engine streaming (cache hit)
                result = ready[0]
                if result.text:
                    yield fmt.delta(result.text)
                for chunk in fmt.end(result):
                    yield chunk
                return
            yield fmt.delta(first[1])
            while True:
                kind, item = await next_item()
                if kind == "delta":
                    yield fmt.delta(item)
                    continue
                result, _ = finished(item)
                for chunk in fmt.end(result):
                    yield chunk
                return
        except ApiError as err:
            yield error_event(err.status, err.message, err.type, err.param)
        finally:  # client gone or error: stop the engine request
            if not done.done():
                control.cancel()

    replicas = ready[1] if ready is not None else []
    return sse_response(events(), {MODEL_REPLICAS_HEADER: ",".join(replicas)})
