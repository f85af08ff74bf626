"""Server-sent events: encoding and the response type every streaming route returns."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

# Proxies (nginx) buffer responses unless told not to; clients must not cache a live stream.
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
DONE = "data: [DONE]\n\n"
KEEPALIVE = ": keep-alive\n\n"


def sse(data: Any, event: str | None = None, event_id: int | None = None) -> str:
    """One event: `data` as compact JSON (a str is sent as-is), with optional name and id."""
    body = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = (f"event: {event}\n" if event else "") + (
        f"id: {event_id}\n" if event_id is not None else ""
    )
    return head + "".join(f"data: {line}\n" for line in body.split("\n")) + "\n"


def error_event(status: int, message: str, type_: str, param: str | None = None) -> str:
    """An error after the stream started (status already sent): OpenAI's error object as data,
    which the official client raises as an APIError."""
    return sse({"error": {"message": message, "type": type_, "param": param, "code": status}})


def sse_response(events: AsyncIterator[str], headers: dict[str, str] | None = None) -> Any:
    return StreamingResponse(
        events, media_type="text/event-stream", headers={**SSE_HEADERS, **(headers or {})}
    )
